"""Datasets of rainy/clean image pairs and their transforms (registered on import)."""
from . import transforms  # noqa: F401  (registers the transforms)
from .layout import DatasetLayoutError
from .paired_image import PairedImageDataset
from .samplers import InfiniteSampler
from .saved_results import SavedResultsDataset
from .single_image import SingleImageDataset
from .synthetic_rain import AddSyntheticRain, SyntheticRainDataset

__all__ = [
    'AddSyntheticRain', 'DatasetLayoutError', 'InfiniteSampler', 'PairedImageDataset',
    'SavedResultsDataset', 'SingleImageDataset', 'SyntheticRainDataset'
]
