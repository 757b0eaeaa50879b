"""Derain several images with several models, timed, and scored against ground truths.

:func:`derain_each` is what a side-by-side comparison needs (the web app, a notebook):
every image read once the way ``tools/derain.py`` reads it, every model run through
:func:`restorelab.apis.derain` (the one inference path), one :class:`CellResult` per
image and model, errors kept per cell, progress reported between tiles and a way to stop.
"""
import os
import time
from dataclasses import dataclass, field

import numpy as np

from restorelab.utils.errors import UserInputError, describe_error
from restorelab.utils.image_io import imread_image
from .images import derain


class Cancelled(Exception):
    """Raised by a progress callback to stop a restoration between two arch calls."""


@dataclass
class CellResult:
    """One image restored by one model. ``input`` is the image as read (shared by its cells);
    ``output`` is None when ``error`` says why;
    ``metrics`` (PSNR/SSIM) is None without a ground truth; ``seconds`` times the restoration
    alone (not loading the model or reading the file)."""
    image: str
    model: str
    input: np.ndarray = None
    output: np.ndarray = None
    seconds: float = None
    metrics: dict = None
    error: str = None
    notes: list = field(default_factory=list)


def to_rgb8(img):
    """An image as ``imread_image``/``derain`` give it (gray, RGB or RGBA; 8 or 16 bits) as
    ``(H, W, 3)`` uint8 RGB: gray repeated, alpha dropped, 16 bits rounded to 8 (for display
    and for the 8-bit scoring protocols)."""
    from restorelab.evaluation.functional import quantize_image
    if img.ndim == 2:
        img = img[..., None]
    img = img[..., :3] if img.shape[2] >= 3 else np.repeat(img[..., :1], 3, axis=2)
    if img.dtype == np.uint16:
        img = quantize_image(img.astype(np.float64) / 65535, 8, 'round')
    return np.ascontiguousarray(img)


def score(output, gt, protocol, names=None):
    """PSNR/SSIM of ``output`` against ``gt`` under ``protocol`` as ``{'psnr', 'ssim'}``: both
    brought to 8-bit RGB by :func:`to_rgb8` and scored by the ``PSNR`` and ``SSIM`` metric
    objects through mmengine's Evaluator, as tools/test.py and the benchmark score."""
    from mmengine.evaluator import Evaluator

    from restorelab.evaluation.metrics import PSNR, SSIM
    names = names or ('result', 'ground truth')
    evaluator = Evaluator([PSNR(protocol=protocol), SSIM(protocol=protocol)])
    evaluator.process([dict(key=names[0], img_path=names[0], gt_path=names[1],
                            pred_img=to_rgb8(output).transpose(2, 0, 1),
                            gt_img=to_rgb8(gt).transpose(2, 0, 1))])
    return {k.lower(): v for k, v in evaluator.evaluate(1).items()}


def pair_by_name(image_paths, gt_paths):
    """Match ground truths to images by file name without extension (``rain/12.jpg`` with
    ``gt/12.png``); a single image and a single ground truth are a pair whatever their
    names. Returns ``({image path: gt path}, [unmatched gt paths])``."""
    image_paths, gt_paths = list(image_paths), list(gt_paths or [])
    if len(image_paths) == 1 and len(gt_paths) == 1:
        return {image_paths[0]: gt_paths[0]}, []
    stems = [os.path.splitext(os.path.basename(g))[0] for g in gt_paths]
    pairs = {img: gt_paths[stems.index(stem)] for img in image_paths
             for stem in [os.path.splitext(os.path.basename(img))[0]] if stems.count(stem) == 1}
    return pairs, [g for g in gt_paths if g not in pairs.values()]


def derain_each(images, models, load, test_cfg=None, ground_truths=None, protocol='restormer',
                progress=None, names=None):
    """Derain every image with every model; yields one :class:`CellResult` per pair, image by image.

    Args:
        images: image file paths (read with EXIF orientation, 8/16-bit, gray/RGB/RGBA kept).
        models: model choices (anything with a ``label``), run in this order.
        load: ``load(choice)`` -> an ImageRestorer, or None for the identity (the input as
            output); a load that raises fails that model's cells with the message.
        test_cfg: test_cfg keys for every model (``tile``, ``tile_overlap``, ``self_ensemble``, ...),
            checked per model (a tile must be a multiple of its arch's size multiple).
        ground_truths: ``{image path: gt path}`` (see :func:`pair_by_name`); paired cells get
            PSNR/SSIM under ``protocol``.
        progress: ``progress(fraction, text)`` between arch calls, ``fraction`` of the whole
            job in [0, 1]; raise :class:`Cancelled` from it to stop (it propagates).
        names: display names of ``images`` (default: their base names).
    """
    from restorelab.models.restorers.inference_utils import check_test_cfg

    images, models, ground_truths = list(images), list(models), ground_truths or {}
    names = list(names) if names is not None else [os.path.basename(p) for p in images]
    progress, test_cfg, cells = progress or (lambda *a: None), dict(test_cfg or {}), \
        max(1, len(images) * len(models))
    for i, (path, name) in enumerate(zip(images, names)):
        img = gt = None
        notes = []
        try:
            img = imread_image(path)
            gt = imread_image(ground_truths[path]) if path in ground_truths else None
        except Exception as err:  # noqa: BLE001  a bad file fails its own cells only
            if img is None:
                yield from (CellResult(name, m.label, error=describe_error(err)) for m in models)
                continue
            notes.append(f'ground truth not scored: {describe_error(err)}')
        for j, choice in enumerate(models):
            cell, result = i * len(models) + j, CellResult(name, choice.label, input=img,
                                                           notes=list(notes))
            try:
                progress(cell / cells, f'{choice.label} on {name}: loading the model')
                model, start = load(choice), time.perf_counter()
                if model is not None:
                    try:
                        check_test_cfg({**model.test_cfg, **test_cfg}, model.size_multiple)
                    except ValueError as err:
                        raise UserInputError(f'{err} (inference options for {choice.label})') from None
                result.output = img.copy() if model is None else derain(
                    model, img, test_cfg=test_cfg, progress=lambda done, total, c=cell, m=choice: progress(
                        (c + done / max(total, 1)) / cells, f'{m.label} on {name}: step {done}/{total}'))
                result.seconds = time.perf_counter() - start
            except Cancelled:
                raise
            except Exception as err:  # noqa: BLE001  one model's failure must not stop the others
                result.error = describe_error(err)
            if gt is not None and result.output is not None:
                try:
                    result.metrics = score(result.output, gt, protocol, names=(name, ground_truths[path]))
                except Exception as err:  # noqa: BLE001
                    result.notes.append(f'not scored: {describe_error(err)}')
            yield result
