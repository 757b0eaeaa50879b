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

from .errors import ImageReadError
from .fileio import atomic_output

# OpenCV's own warnings about damaged files ("PNG input buffer is incomplete")
# would precede restorelab's error, which names the file; keep only its errors.
if cv2.utils.logging.getLogLevel() > cv2.utils.logging.LOG_LEVEL_ERROR:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def is_image_file(path):
    return str(path).lower().endswith(IMG_EXTENSIONS)


def _decode_file(path, flags):
    """Read ``path`` and decode it with ``cv2.imdecode(..., flags)``.

    Returns ``(img, data)``: the decoded 8/16-bit array and the file's bytes.
    Raises :class:`ImageReadError` naming the file when it cannot be read, is
    empty, cannot be decoded or has another pixel type.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise ImageReadError(f'cannot read image file {path!r}: {err}') from err
    if data.size == 0:
        raise ImageReadError(f'image file {path!r} is empty (0 bytes)')
    img = cv2.imdecode(data, flags)
    if img is None:
        raise ImageReadError(
            f'cannot decode image file {path!r} ({data.size} bytes): not a PNG/JPEG/BMP/TIFF/WebP '
            'image or a truncated one')
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(
            f'image file {path!r} has pixel type {img.dtype}; expected 8- or 16-bit integers')
    return img, data


def imread_rgb(path):
    """Read ``path`` as an ``(H, W, 3)`` RGB array of dtype uint8 or uint16.

    Raises:
        ImageReadError: naming the file when it is missing, cannot be decoded,
            or has a depth other than 8/16 bits or a channel count other than
            1, 3 or 4.
    """
    path = os.fspath(path)
    # ANYDEPTH keeps 16 bits, ANYCOLOR keeps gray as gray and drops alpha; unlike
    # IMREAD_UNCHANGED these flags apply the EXIF orientation.
    img, _ = _decode_file(path, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
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
    ext = os.path.splitext(path)[1] or '.png'
    ok, buf = cv2.imencode(ext, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'cannot encode image for {path!r}')
    with atomic_output(path, sync=False) as f:  # a crash never leaves half a file
        f.write(buf.tobytes())


# --------------------------------------------------------------------------- EXIF orientation
# imread_image keeps an alpha channel and gray as gray, so it must decode with
# IMREAD_UNCHANGED, which ignores a photo's EXIF orientation: the orientation is read from
# the file's bytes and applied here (imread_rgb gets it from OpenCV's ANYCOLOR decoding).

def _tiff_orientation(data, start):
    """Orientation tag (0x0112) of IFD0 of the TIFF structure at ``data[start:]``, or 1."""
    if data[start:start + 2] == b'II':
        order = '<'
    elif data[start:start + 2] == b'MM':
        order = '>'
    else:
        return 1
    import struct
    try:
        (ifd, ) = struct.unpack_from(order + 'I', data, start + 4)
        (count, ) = struct.unpack_from(order + 'H', data, start + ifd)
        for i in range(count):
            entry = start + ifd + 2 + 12 * i
            tag, typ = struct.unpack_from(order + 'HH', data, entry)
            if tag == 0x0112 and typ == 3:
                (value, ) = struct.unpack_from(order + 'H', data, entry + 8)
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def exif_orientation(data):
    """EXIF orientation (1..8; 1 = upright) of encoded JPEG, PNG (eXIf) or WebP bytes."""
    data = bytes(data)
    if data[:2] == b'\xff\xd8':  # JPEG: APP1 "Exif\0\0" + TIFF
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD9, 0xDA):  # end of image / start of scan
                break
            length = int.from_bytes(data[pos + 2:pos + 4], 'big')
            if marker == 0xE1 and data[pos + 4:pos + 10] == b'Exif\x00\x00':
                return _tiff_orientation(data, pos + 10)
            pos += 2 + length
        return 1
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        pos = 8
        while pos + 8 <= len(data):
            length = int.from_bytes(data[pos:pos + 4], 'big')
            kind = data[pos + 4:pos + 8]
            if kind == b'eXIf':
                return _tiff_orientation(data, pos + 8)
            if kind == b'IDAT':
                break
            pos += 12 + length
        return 1
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        pos = 12
        while pos + 8 <= len(data):
            kind = data[pos:pos + 4]
            length = int.from_bytes(data[pos + 4:pos + 8], 'little')
            if kind == b'EXIF':
                body = pos + 8
                if data[body:body + 6] == b'Exif\x00\x00':
                    body += 6
                return _tiff_orientation(data, body)
            pos += 8 + length + (length & 1)
    return 1


def apply_exif_orientation(img, orientation):
    """Turn a decoded ``(H, W[, C])`` image upright for EXIF ``orientation`` (1..8)."""
    if orientation in (None, 1):
        return img
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a.swapaxes(0, 1)[:, ::-1],
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: a.swapaxes(0, 1)[::-1],
    }
    if orientation not in ops:
        raise ValueError(f'EXIF orientation {orientation!r}; expected 1..8')
    return np.ascontiguousarray(ops[orientation](img))


def imread_image(path, apply_exif=True):
    """Read ``path`` keeping its channels: ``(H, W)`` gray, ``(H, W, 3)`` RGB or
    ``(H, W, 4)`` RGBA, uint8 or uint16; turned upright by its EXIF orientation when
    ``apply_exif``. For derain-your-own-photos; datasets and metrics use :func:`imread_rgb`.

    Raises:
        ImageReadError: naming the file, as :func:`imread_rgb`.
    """
    path = os.fspath(path)
    img, data = _decode_file(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    elif img.ndim != 2:
        raise ImageReadError(
            f'image file {path!r} has shape {img.shape}; expected 1, 3 or 4 channels')
    if apply_exif:
        img = apply_exif_orientation(img, exif_orientation(data[:1 << 20].tobytes()))
    return np.ascontiguousarray(img)


def imwrite_image(path, img, jpeg_quality=95):
    """Write ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA uint8/uint16 to ``path``
    (format from the extension; JPEG at ``jpeg_quality``); creates parent folders."""
    path = os.fspath(path)
    if img.dtype not in (np.uint8, np.uint16) or not (
            img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f'imwrite_image({path!r}): expected (H, W), (H, W, 3) or (H, W, 4) '
                         f'uint8/uint16, got {img.shape} {img.dtype}')
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR if img.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ext = os.path.splitext(path)[1].lower() or '.png'
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in ('.jpg', '.jpeg') else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise OSError(f'cannot encode image for {path!r}')
    with atomic_output(path, sync=False) as f:
        f.write(buf.tobytes())
