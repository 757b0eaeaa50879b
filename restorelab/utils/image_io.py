"""Reading images as RGB arrays, the one way restorelab reads image files.

Files are decoded by content, not by extension (DID/DDN ground truths ship as
JPEG data under a ``.png`` name). 8- and 16-bit files keep their depth;
grayscale becomes 3 channels and an alpha channel is dropped. A JPEG's EXIF
orientation is applied (the image comes out as viewers show it) and CMYK
JPEGs are converted to RGB.
"""
import os

import cv2
import numpy as np

from .errors import UserInputError

# OpenCV's own warnings about damaged files ("PNG input buffer is incomplete")
# would precede restorelab's error, which names the file; keep only its errors.
if cv2.utils.logging.getLogLevel() > cv2.utils.logging.LOG_LEVEL_ERROR:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class ImageReadError(UserInputError, OSError):
    """An image file is missing, unreadable or in an unsupported form."""


def is_image_file(path):
    return str(path).lower().endswith(IMG_EXTENSIONS)


def imread_rgb(path):
    """Read ``path`` as an ``(H, W, 3)`` RGB array of dtype uint8 or uint16.

    Raises:
        ImageReadError: naming the file when it is missing, cannot be decoded,
            or has a depth other than 8/16 bits or a channel count other than
            1, 3 or 4.
    """
    path = os.fspath(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise ImageReadError(f'cannot read image file {path!r}: {err}') from err
    if data.size == 0:
        raise ImageReadError(f'image file {path!r} is empty (0 bytes)')
    # ANYDEPTH keeps 16 bits, ANYCOLOR keeps gray as gray and drops alpha; unlike
    # IMREAD_UNCHANGED these flags apply the EXIF orientation.
    img = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if img is None:
        raise ImageReadError(
            f'cannot decode image file {path!r} ({data.size} bytes): not a PNG/JPEG/BMP/TIFF/WebP '
            'image or a truncated one')
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(
            f'image file {path!r} has pixel type {img.dtype}; expected 8- or 16-bit integers')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGB)
    else:
        raise ImageReadError(
            f'image file {path!r} has shape {img.shape}; expected 1, 3 or 4 channels')
    return np.ascontiguousarray(img)


def imwrite_rgb(path, img):
    """Write an ``(H, W, 3)`` RGB uint8/uint16 array; creates parent folders.

    The format follows the extension (PNG keeps 16 bits).
    """
    path = os.fspath(path)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'imwrite_rgb({path!r}): expected (H, W, 3) uint8/uint16, got '
                         f'{img.shape} {img.dtype}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ext = os.path.splitext(path)[1] or '.png'
    ok, buf = cv2.imencode(ext, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'cannot encode image for {path!r}')
    # Write next to the target then rename, so a crash never leaves half a file.
    tmp = f'{path}.tmp{os.getpid()}'
    buf.tofile(tmp)
    os.replace(tmp, path)
