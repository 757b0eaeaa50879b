"""Contact sheets: the rainy input and every model's output side by side, one labelled row per
image (``tools/benchmark.py --save-images`` writes ``contact_sheets/<set>.png``), so results
can be looked at rather than only read. Each row is one image of the set, scaled to a common
height; its tiles are the rainy input, each model's restored image (the 8-bit file the
benchmark saved and scored) and, for paired sets, the ground truth. A model whose image is
missing (a failed cell) gets a grey tile saying so."""
import os

import cv2
import numpy as np

from restorelab.utils.image_io import ImageReadError, imread_rgb, imwrite_rgb

ROW_HEIGHT = 200  # pixels per row: the images are scaled to this height
_GAP, _MARGIN, _FONT = 6, 120, cv2.FONT_HERSHEY_SIMPLEX  # space between tiles; key column


def _fit_text(text, max_width):
    """``text``, shortened with '...' until it fits ``max_width`` pixels."""
    while cv2.getTextSize(text, _FONT, 0.5, 1)[0][0] > max_width and len(text) > 4:
        text = text[:-4] + '...'
    return text


def _tile(img, height, width, label):
    """``img`` (8/16-bit RGB, or None: a grey 'missing' tile ``width`` wide) scaled to ``height``,
    with ``label`` in white on a dark band at its top left."""
    if img is None:
        tile = np.full((height, width, 3), 128, np.uint8)
        (w, h), _ = cv2.getTextSize('missing', _FONT, 0.5, 1)
        cv2.putText(tile, 'missing', (max(4, (width - w) // 2), (height + h) // 2), _FONT, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
    else:
        if img.dtype == np.uint16:  # 16-bit files rounded to 8 bits
            img = np.round(img.astype(np.float64) * (255 / 65535)).astype(np.uint8)
        size = (max(1, round(img.shape[1] * height / img.shape[0])), height)
        tile = cv2.resize(img, size, interpolation=cv2.INTER_AREA if height < img.shape[0]
                          else cv2.INTER_CUBIC)
    text = _fit_text(label, tile.shape[1] - 8)
    (w, h), base = cv2.getTextSize(text, _FONT, 0.5, 1)
    tile[:h + base + 6, :w + 8] = (tile[:h + base + 6, :w + 8] * 0.35).astype(np.uint8)
    cv2.putText(tile, text, (4, h + 3), _FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def build_contact_sheet(rows, row_height=ROW_HEIGHT):
    """Lay out ``rows`` = ``[(key, [(label, image or None), ...])]`` as one RGB uint8 image
    (a missing image drawn as wide as the row's first image)."""
    if not rows:
        raise ValueError('build_contact_sheet: no rows to draw')
    drawn = []
    for key, tiles in rows:
        first = next((img for _, img in tiles if img is not None), None)
        width = row_height if first is None else max(1, round(first.shape[1] * row_height /
                                                              first.shape[0]))
        drawn.append((key, [_tile(img, row_height, width, label) for label, img in tiles]))
    total = max(sum(t.shape[1] + _GAP for t in row) - _GAP for _, row in drawn)
    sheet = np.full((len(drawn) * (row_height + _GAP) + _GAP, _MARGIN + total + _GAP, 3), 255,
                    np.uint8)
    for r, (key, row) in enumerate(drawn):
        top, left = _GAP + r * (row_height + _GAP), _MARGIN
        cv2.putText(sheet, _fit_text(str(key), _MARGIN - 10), (6, top + row_height // 2), _FONT,
                    0.5, (0, 0, 0), 1, cv2.LINE_AA)
        for tile in row:
            sheet[top:top + row_height, left:left + tile.shape[1]] = tile
            left += tile.shape[1] + _GAP
    return sheet


def write_contact_sheet(path, samples, model_dirs, row_height=ROW_HEIGHT):
    """Write the sheet of one test set to ``path``: ``samples`` are its first images as
    ``(key, rainy, gt)`` RGB uint8 arrays (``gt`` None for unpaired sets), ``model_dirs``
    ``[(model name, folder of its saved results <key>.png)]`` in table order. Returns the path."""
    def read(path):
        try:
            return imread_rgb(path)
        except ImageReadError:
            return None

    rows = [(key, [('rainy input', rainy)] + [(name, read(os.path.join(folder, key + '.png')))
                                              for name, folder in model_dirs]
             + ([('ground truth', gt)] if gt is not None else [])) for key, rainy, gt in samples]
    imwrite_rgb(path, build_contact_sheet(rows, row_height))
    return path
