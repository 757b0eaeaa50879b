"""What tools and users call: build a model, restore images, pad and tile tensors."""
from restorelab.models.restorers.inference_utils import (pad_to_multiple, restore_tensor,
                                                         tiled_forward)
from .inference import CheckpointMismatchError, init_model, load_weights, restore_image

__all__ = [
    'init_model', 'load_weights', 'restore_image', 'CheckpointMismatchError', 'pad_to_multiple',
    'restore_tensor', 'tiled_forward'
]
from .derain import derain  # noqa: E402,F401  (restorelab.apis.derain(model, image_or_path))
from .zoo import get_released, list_released  # noqa: E402,F401  (released weights by name)
