"""Comparison images (rainy | restored | ground truth) during validation."""
import os.path as osp

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from restorelab.registry import HOOKS
from restorelab.utils.image_io import imwrite_rgb
from .save_results import tensor_to_image


def tensor_to_uint8(img):
    """``(3, H, W)`` float tensor in [0, 1] -> ``(H, W, 3)`` uint8, rounded as
    the metrics and saved results are."""
    return tensor_to_image(img, 8, 'round')


def make_comparison(panels, border=4):
    """Concatenate ``(H, W, 3)`` uint8 panels left to right with white borders.

    Panels of different sizes (an input the restorer padded, say) are placed
    top-left on a white canvas of the largest height.
    """
    height = max(p.shape[0] for p in panels)
    columns = []
    for i, panel in enumerate(panels):
        column = np.full((height, panel.shape[1], 3), 255, np.uint8)
        column[:panel.shape[0]] = panel
        columns.append(column)
        if i < len(panels) - 1:
            columns.append(np.full((height, border, 3), 255, np.uint8))
    return np.concatenate(columns, axis=1)


@HOOKS.register_module()
class ComparisonVisualizationHook(Hook):
    """Saves ``rainy | restored | ground truth`` images of the first
    ``num_images`` validation samples at every evaluation.

    Images go to every backend of the runner's visualizer (TensorBoard, and
    the local backend's ``vis_data/vis_image/``) under ``val/<key>`` at the
    current iteration, and as PNG files to
    ``<work_dir>/comparisons/iter_<N>/<key>.png``. Only the main process
    records: with a distributed sampler it sees samples 0, W, 2W, ... of the
    validation set (W processes), always the same ones.

    Args:
        num_images (int): Samples recorded per evaluation.
        save_files (bool): Also write the PNG files under the work dir.
        border (int): White gap between panels, in pixels.
    """

    priority = 'LOW'

    def __init__(self, num_images=4, save_files=True, border=4):
        if not isinstance(num_images, int) or num_images < 0:
            raise ValueError(f'num_images must be an int >= 0, got {num_images!r}')
        self.num_images = num_images
        self.save_files = save_files
        self.border = border
        self._recorded = 0

    def before_val_epoch(self, runner):
        self._recorded = 0

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not is_main_process() or self._recorded >= self.num_images or not outputs:
            return
        inputs = data_batch['inputs']
        for inp, sample in zip(inputs, outputs):
            if self._recorded >= self.num_images:
                break
            panels = [tensor_to_uint8(inp), tensor_to_uint8(sample.pred_img)]
            if 'gt_img' in sample:
                panels.append(tensor_to_uint8(sample.gt_img))
            image = make_comparison(panels, self.border)
            key = str(sample.metainfo.get('key', f'{batch_idx}'))
            safe_key = key.replace('/', '__').replace('\\', '__')
            runner.visualizer.add_image(f'val_{safe_key}', image, step=runner.iter)
            if self.save_files:
                imwrite_rgb(
                    osp.join(runner.work_dir, 'comparisons', f'iter_{runner.iter}', f'{safe_key}.png'),
                    image)
            self._recorded += 1
