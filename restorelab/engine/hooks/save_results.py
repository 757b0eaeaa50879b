"""Saving restored images during testing (``tools/test.py --save-images``)."""
import os.path as osp

from mmengine.hooks import Hook

from restorelab.evaluation.functional import check_quantize, quantize_image
from restorelab.registry import HOOKS
from restorelab.utils.image_io import imwrite_rgb


def tensor_to_image(img, bit_depth=8, quantize='round'):
    """``(3, H, W)`` float tensor in [0, 1] -> ``(H, W, 3)`` uint8 or uint16, quantised as
    the metrics quantise (``quantize``: 'round' or 'truncate')."""
    arr = img.detach().float().cpu().permute(1, 2, 0).numpy()
    return quantize_image(arr, bit_depth, quantize)


@HOOKS.register_module()
class SaveResultsHook(Hook):
    """Writes every restored test image to ``out_dir/<key>.png``.

    8-bit inputs give 8-bit PNGs quantised exactly as the metrics quantise them
    (``quantize``: 'round', or 'truncate' as the PReNet/BRN/AIDNet test scripts save),
    so scoring the saved files (tools/eval_images.py) gives the in-loop numbers;
    16-bit inputs give 16-bit PNGs. Each process writes the samples it saw.
    """

    priority = 'LOW'

    def __init__(self, out_dir, quantize='round'):
        if not out_dir:
            raise ValueError('SaveResultsHook needs an output folder (out_dir)')
        self.out_dir = out_dir
        self.quantize = check_quantize(quantize)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        for sample in outputs or []:
            key = sample.metainfo['key']
            image = tensor_to_image(sample.pred_img, sample.metainfo.get('bit_depth', 8),
                                    self.quantize)
            imwrite_rgb(osp.join(self.out_dir, f'{key}.png'), image)
