"""Derain anyone's images: any size, 8/16-bit, gray/RGB/RGBA, EXIF orientation, files or folders.

Arrays are in RGB(A) channel order, as :func:`restorelab.utils.image_io.imread_image` reads them;
:func:`save_image` writes them back (``cv2.imwrite`` would take them for BGR: red and blue swap).
"""
import os

import numpy as np

from restorelab.utils.image_io import imread_image, imwrite_image, is_image_file
from .inference import restore_image


def derain(model, image_or_path, test_cfg=None, progress=None):
    """Derain one image with ``model`` (an ImageRestorer, see :func:`init_model`).

    ``image_or_path`` is a file path (read upright by its EXIF orientation) or an array
    ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA of uint8 or uint16. Returns an
    array of the same shape, dtype and channel order (RGB, not OpenCV's BGR: save it with
    :func:`save_image`): gray stays gray (channel mean of the derained RGB), RGBA keeps its
    alpha untouched. Padding, tiling and self-ensemble follow
    ``model.test_cfg`` updated by ``test_cfg`` (e.g. ``dict(tile=256, tile_overlap=32)``, or
    ``dict(tile='auto')`` to tile large images only). ``progress(done, total)`` is called
    around every arch call; an exception it raises stops the work (cancelling).
    """
    if isinstance(image_or_path, (str, os.PathLike)):
        img = imread_image(image_or_path, apply_exif=True)
    elif isinstance(image_or_path, np.ndarray):
        img = image_or_path
    else:
        raise TypeError('derain: expected a path or a numpy array, got '
                        f'{type(image_or_path).__name__}')
    if img.dtype not in (np.uint8, np.uint16) or not (
            img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3, 4))):
        raise ValueError(f'derain: expected an (H, W), (H, W, 3) or (H, W, 4) uint8/uint16 image, '
                         f'got {img.shape} {img.dtype}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        rgb = np.repeat(img[..., None], 3, axis=2)
    else:
        rgb = img[..., :3]
    out = restore_image(model, np.ascontiguousarray(rgb), test_cfg=test_cfg, progress=progress)
    if img.ndim == 2:
        return np.round(out.astype(np.float64).mean(axis=2)).astype(img.dtype)
    if img.shape[2] == 4:
        return np.concatenate([out, img[..., 3:]], axis=2)
    return out


def save_image(path, img, jpeg_quality=95):
    """Write an image array as :func:`derain` returns it (``(H, W)`` gray, ``(H, W, 3)`` RGB or
    ``(H, W, 4)`` RGBA, uint8 or uint16) to ``path``; the format follows the extension (PNG
    keeps 16 bits; JPEG at ``jpeg_quality``). Parent folders are created; the file appears
    complete or not at all."""
    imwrite_image(path, img, jpeg_quality=jpeg_quality)


def list_images(input_path):
    """``[(path, relative path)]`` of the image files to derain: ``input_path`` itself or every
    image under it (recursive, hidden entries skipped, sorted)."""
    from restorelab.datasets.layout import scan_images
    if os.path.isfile(input_path):
        return [(input_path, os.path.basename(input_path))]
    if not os.path.isdir(input_path):
        raise FileNotFoundError(f'{input_path!r} is neither an image file nor a folder')
    rels, _ = scan_images(input_path, recursive=True)
    return [(os.path.join(input_path, rel), rel) for rel in rels]


JPEG_QUALITY = 95  # of the JPEG files derain_files writes for JPEG inputs


def output_path(out_dir, rel, fmt=None):
    """Where :func:`derain_files` writes the result of ``rel``: ``out_dir/rel``, with the
    extension ``.<fmt>`` when ``fmt`` (e.g. ``'png'``) is given."""
    if fmt:
        rel = os.path.splitext(rel)[0] + '.' + fmt.lstrip('.').lower()
    return os.path.join(out_dir, rel)


def derain_files(model, items, out_dir, test_cfg=None, progress=True, log=print, fmt=None):
    """Derain ``items`` (from :func:`list_images`) into ``out_dir`` under their relative
    paths, in each input's format (JPEG inputs as JPEG at quality :data:`JPEG_QUALITY`), or
    all as ``fmt`` (``'png'``: lossless). A file that fails is reported through ``log``
    (naming it) and skipped; returns ``(written paths, [(path, error message)])``."""
    bar = None
    if progress and items:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(items))
    written, failed = [], []
    for path, rel in items:
        try:
            if not is_image_file(path):
                raise ValueError(f'{path!r} has no image extension; expected one of .png, .jpg, '
                                 '.jpeg, .bmp, .tif, .tiff, .webp')
            out = derain(model, path, test_cfg=test_cfg)
            target = output_path(out_dir, rel, fmt)
            imwrite_image(target, out, jpeg_quality=JPEG_QUALITY)
            written.append(target)
        except Exception as err:  # noqa: BLE001  one bad file must not stop the others
            failed.append((path, f'{type(err).__name__}: {err}'))
            log(f'\nerror: {path}: {err}')
        if bar:
            bar.update()
    if bar:
        bar.file.write('\n')
        bar.file.flush()
    return written, failed
