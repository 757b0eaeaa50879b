"""Transforms on numpy HWC RGB images under the keys ``img`` (rainy) and ``gt`` (clean)."""
from .formatting import PackInputs, image_to_tensor
from .geometric import (PairedRandomCrop, PairedRandomFlip, PairedRandomResizedCrop,
                        PairedRandomRot90, PairedRandomTranspose)
from .loading import LoadImageFromFile

__all__ = [
    'LoadImageFromFile', 'PairedRandomCrop', 'PairedRandomFlip', 'PairedRandomRot90',
    'PairedRandomTranspose', 'PairedRandomResizedCrop', 'PackInputs', 'image_to_tensor',
]
