"""What tools and users call: build a model, restore and derain images, pad and tile tensors,
released weights by name.

Every function here that takes or returns an image array uses RGB channel order (``H, W, 3``),
uint8 or uint16, as :func:`restorelab.utils.image_io.imread_image` reads files; write results
with :func:`save_image` (OpenCV's ``cv2.imwrite`` expects BGR and would swap red and blue).
"""
from restorelab.models.restorers.inference_utils import (pad_to_multiple, restore_tensor,
                                                         tiled_forward)
from .images import derain, save_image
from .inference import CheckpointMismatchError, init_model, load_weights, restore_image
from .models import describe_ref, load_restorer, model_ref
from .zoo import get_released, list_released

__all__ = [
    'init_model', 'load_restorer', 'model_ref', 'describe_ref', 'load_weights', 'restore_image', 'derain', 'save_image', 'CheckpointMismatchError',
    'pad_to_multiple', 'restore_tensor', 'tiled_forward', 'get_released', 'list_released',
]
