"""Saving restored images during testing (``tools/test.py --save-images``)."""
import os.path as osp

import torch
from mmengine.hooks import Hook

from restorelab.registry import HOOKS
from restorelab.utils.image_io import imwrite_rgb


def tensor_to_image(img, bit_depth=8):
    """``(3, H, W)`` float tensor in [0, 1] -> ``(H, W, 3)`` uint8 or uint16."""
    peak, dtype = (65535, torch.int32) if bit_depth == 16 else (255, torch.uint8)
    arr = img.detach().float().cpu().clamp(0, 1).mul(peak).round().to(dtype).permute(1, 2, 0).numpy()
    return arr.astype('uint16') if bit_depth == 16 else arr


@HOOKS.register_module()
class SaveResultsHook(Hook):
    """Writes every restored test image to ``out_dir/<key>.png``.

    8-bit inputs give 8-bit PNGs rounded exactly as the metrics round them, so
    scoring the saved files (tools/eval_images.py) gives the in-loop numbers;
    16-bit inputs give 16-bit PNGs. Each process writes the samples it saw.
    """

    priority = 'LOW'

    def __init__(self, out_dir):
        if not out_dir:
            raise ValueError('SaveResultsHook needs an output folder (out_dir)')
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for sample in outputs or []:
            key = sample.metainfo['key']
            image = tensor_to_image(sample.pred_img, sample.metainfo.get('bit_depth', 8))
            imwrite_rgb(osp.join(self.out_dir, f'{key}.png'), image)
