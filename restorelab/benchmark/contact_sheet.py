"""Contact sheets: the rainy input and every model's output side by side, one labelled
row per image, so results can be looked at rather than only read.

A sheet is one PNG per test set (``tools/benchmark.py --save-images`` writes
``contact_sheets/<set>.png``): each row is one image of the set (the first N in the set's
order), scaled to a common height; its tiles are the rainy input, each model's restored
image (the 8-bit file the benchmark saved and scored) and, for paired sets, the ground
truth. Every tile carries its label; a model
whose image is missing (a failed cell) gets a grey tile saying so.
"""
import os

import cv2
import numpy as np

from restorelab.utils.image_io import ImageReadError, imread_rgb, imwrite_rgb

ROW_HEIGHT = 200  # pixels per row: the images are scaled to this height
_GAP = 6  # white space between tiles and rows
_MARGIN = 120  # left margin for the image key
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def to_uint8(img):
    """An 8- or 16-bit RGB image as 8-bit (16-bit files are rounded down to 8 bits)."""
    if img.dtype == np.uint16:
        return np.round(img.astype(np.float64) * (255 / 65535)).astype(np.uint8)
    return img


def _fit_text(text, max_width, scale=0.5, thickness=1):
    """``text``, shortened with '...' until it fits ``max_width`` pixels at ``scale``."""
    width = cv2.getTextSize(text, _FONT, scale, thickness)[0][0]
    while width > max_width and len(text) > 4:
        text = text[:-4] + '...'
        width = cv2.getTextSize(text, _FONT, scale, thickness)[0][0]
    return text


def _label(tile, text):
    """Write ``text`` in white on a dark band at the top-left of ``tile`` (in place)."""
    text = _fit_text(text, tile.shape[1] - 8)
    (w, h), base = cv2.getTextSize(text, _FONT, 0.5, 1)
    tile[:h + base + 6, :w + 8] = (tile[:h + base + 6, :w + 8] * 0.35).astype(np.uint8)
    cv2.putText(tile, text, (4, h + 3), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def _placeholder(width, height, text):
    tile = np.full((height, width, 3), 128, np.uint8)
    msg = _fit_text(text, width - 8)
    (w, h), _ = cv2.getTextSize(msg, _FONT, 0.5, 1)
    cv2.putText(tile, msg, (max(4, (width - w) // 2), (height + h) // 2), _FONT, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def _scaled(img, height):
    width = max(1, round(img.shape[1] * height / img.shape[0]))
    interp = cv2.INTER_AREA if height < img.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(img, (width, height), interpolation=interp)


def build_contact_sheet(rows, row_height=ROW_HEIGHT):
    """Lay out ``rows`` as one RGB uint8 image.

    Args:
        rows: a list of ``(key, tiles)``; ``tiles`` is a list of ``(label, image)`` with
            ``image`` an ``(H, W, 3)`` uint8/uint16 RGB array, or ``None`` for a missing
            result (drawn as a grey tile saying 'missing', the size of the row's first image).
        row_height: the height every image is scaled to.
    """
    if not rows:
        raise ValueError('build_contact_sheet: no rows to draw')
    drawn = []
    for key, tiles in rows:
        first = next((img for _, img in tiles if img is not None), None)
        width = (_scaled(to_uint8(first), row_height).shape[1] if first is not None
                 else row_height)
        row = []
        for label, img in tiles:
            tile = (_scaled(to_uint8(img), row_height).copy() if img is not None
                    else _placeholder(width, row_height, 'missing'))
            row.append(_label(tile, label))
        drawn.append((key, row))
    total = max(sum(t.shape[1] for t in row) + _GAP * (len(row) - 1) for _, row in drawn)
    sheet = np.full((len(drawn) * (row_height + _GAP) + _GAP, _MARGIN + total + _GAP, 3), 255,
                    np.uint8)
    for r, (key, row) in enumerate(drawn):
        top = _GAP + r * (row_height + _GAP)
        text = _fit_text(str(key), _MARGIN - 10)
        cv2.putText(sheet, text, (6, top + row_height // 2), _FONT, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
        left = _MARGIN
        for tile in row:
            sheet[top:top + row_height, left:left + tile.shape[1]] = tile
            left += tile.shape[1] + _GAP
    return sheet


def _read(path):
    try:
        return imread_rgb(path)
    except ImageReadError:
        return None


def write_contact_sheet(path, samples, model_dirs, row_height=ROW_HEIGHT):
    """Write the contact sheet of one test set to ``path``; returns the path.

    Args:
        samples: the first N images of the set as ``(key, rainy, gt)``: RGB uint8 arrays
            as the benchmark's data pipeline gives them (``gt`` None for unpaired sets).
        model_dirs: ``[(model name, folder of its saved results)]`` in table order; a
            result is ``<folder>/<key>.png``.
    """
    rows = []
    for key, rainy, gt in samples:
        tiles = [('rainy input', rainy)]
        for name, folder in model_dirs:
            tiles.append((name, _read(os.path.join(folder, key + '.png'))))
        if gt is not None:
            tiles.append(('ground truth', gt))
        rows.append((key, tiles))
    imwrite_rgb(path, build_contact_sheet(rows, row_height))
    return path
