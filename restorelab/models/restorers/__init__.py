"""Restorers; importing this package registers them."""
from .image_restorer import ImageRestorer
from .inference_utils import (TEST_CFG_DEFAULTS, blend_ramp, check_test_cfg, pad_to_multiple,
                              restore_tensor, tile_starts, tiled_forward)

__all__ = [
    'ImageRestorer', 'TEST_CFG_DEFAULTS', 'blend_ramp', 'check_test_cfg', 'pad_to_multiple',
    'restore_tensor', 'tile_starts', 'tiled_forward'
]
