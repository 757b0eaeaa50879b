"""Comparison images (rainy | restored | ground truth) during validation, and
:func:`image_grid`, which draws them and the benchmark's contact sheets."""
import os.path as osp

import cv2
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


_FONT, _GREY, _SHADE = cv2.FONT_HERSHEY_SIMPLEX, 128, 0.35


def _fit_text(text, max_width):
    """``text``, shortened with '...' until it fits ``max_width`` pixels."""
    while cv2.getTextSize(text, _FONT, 0.5, 1)[0][0] > max_width and len(text) > 4:
        text = text[:-4] + '...'
    return text


def _tile(img, height, label, blank):
    """``img`` (8/16-bit RGB) scaled to ``height`` (None: as it is), or for ``img`` None a grey
    'missing' tile of size ``blank`` (height, width); ``label`` (None: none) in white on a dark
    band at its top left."""
    if img is None:
        (height, width), tile = blank, np.full((*blank, 3), _GREY, np.uint8)
        (w, h), _ = cv2.getTextSize('missing', _FONT, 0.5, 1)
        cv2.putText(tile, 'missing', (max(4, (width - w) // 2), (height + h) // 2), _FONT, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
    else:
        if img.dtype == np.uint16:  # 16-bit files rounded to 8 bits
            img = np.round(img.astype(np.float64) * (255 / 65535)).astype(np.uint8)
        tile = img if height in (None, img.shape[0]) else cv2.resize(
            img, (max(1, round(img.shape[1] * height / img.shape[0])), height),
            interpolation=cv2.INTER_AREA if height < img.shape[0] else cv2.INTER_CUBIC)
    if label is not None:
        tile, text = tile.copy(), _fit_text(label, tile.shape[1] - 8)
        (w, h), base = cv2.getTextSize(text, _FONT, 0.5, 1)
        tile[:h + base + 6, :w + 8] = (tile[:h + base + 6, :w + 8] * _SHADE).astype(np.uint8)
        cv2.putText(tile, text, (4, h + 3), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def image_grid(rows, height=None, gap=4, margin=0, key_width=0):
    """Lay out ``rows`` = ``[(key, [(label, image), ...])]`` as one RGB uint8 image on white:
    each row's images left to right, ``gap`` pixels apart, rows ``gap`` apart, ``margin`` around.

    ``height``: every image scaled to it (None: images as they are, a row as tall as its
    tallest, smaller ones top-left). An image None is a grey 'missing' tile as wide as the
    row's first image; a label (None: none) is written on its tile's top left; with
    ``key_width`` > 0 each row's key is written in a column that wide at the left. The
    validation comparisons (one unlabelled row) and the benchmark's contact sheets
    (tools/benchmark.py --save-images: a labelled row per image) are both drawn here.
    """
    if not rows:
        raise ValueError('image_grid: no rows to draw')
    drawn = []
    for key, tiles in rows:
        first = next((img for _, img in tiles if img is not None), None)
        tall = height or max([img.shape[0] for _, img in tiles if img is not None] or [64])
        width = tall if first is None else max(1, round(first.shape[1] * tall / first.shape[0]))
        drawn.append((key, tall, [_tile(img, height, label, (tall, width)) for label, img in tiles]))
    left = key_width or margin
    total = max(sum(t.shape[1] + gap for t in row) - gap for _, _, row in drawn)
    grid = np.full((sum(tall + gap for _, tall, _ in drawn) - gap + 2 * margin,
                    left + total + margin, 3), 255, np.uint8)
    top = margin
    for key, tall, row in drawn:
        if key_width:
            cv2.putText(grid, _fit_text(str(key), key_width - 10), (6, top + tall // 2), _FONT,
                        0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x = left
        for tile in row:
            grid[top:top + tile.shape[0], x:x + tile.shape[1]] = tile
            x += tile.shape[1] + gap
        top += tall + gap
    return grid


def make_comparison(panels, border=4):
    """``(H, W, 3)`` uint8 panels left to right with ``border`` white pixels between them, at
    their own sizes (an input the restorer padded is placed top-left): :func:`image_grid`."""
    return image_grid([(None, [(None, p) for p in panels])], gap=border)


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
