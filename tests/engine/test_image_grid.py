"""image_grid: the one drawer of the validation comparisons (one unlabelled row at the images'
own sizes) and the benchmark's contact sheets (labelled rows scaled to one height)."""
import cv2
import numpy as np
import pytest

from restorelab.engine.hooks.visualization import image_grid, make_comparison


def _image(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def test_natural_sizes_place_smaller_images_top_left_on_white():
    a, b = _image(30, 20, 0), _image(18, 25, 1)
    grid = make_comparison([a, b], border=3)
    assert grid.shape == (30, 20 + 3 + 25, 3)
    assert np.array_equal(grid[:, :20], a)
    assert (grid[:, 20:23] == 255).all()
    assert np.array_equal(grid[:18, 23:], b) and (grid[18:, 23:] == 255).all()


def test_scaled_rows_with_labels_keys_missing_tiles_and_16_bit_images():
    a, b = _image(48, 64, 2), _image(48, 64, 3)
    wide16 = (a.astype(np.uint16) * 257)  # 16-bit: rounded back to the 8-bit values
    grid = image_grid([('first', [('in', a), ('model', None)]),
                       ('second', [('in', wide16), ('model', b)])],
                      height=96, gap=5, margin=7, key_width=50)
    tile_w = 128  # 64 scaled by 96 / 48
    assert grid.shape == (7 + 96 + 5 + 96 + 7, 50 + tile_w + 5 + tile_w + 7, 3)
    scaled = cv2.resize(a, (tile_w, 96), interpolation=cv2.INTER_CUBIC)
    # Below the label band the tiles are the scaled images; a 16-bit image equals its 8 bits.
    assert np.array_equal(grid[7 + 30:7 + 96, 50:50 + tile_w], scaled[30:])
    top2 = 7 + 96 + 5
    assert np.array_equal(grid[top2 + 30:top2 + 96, 50:50 + tile_w], scaled[30:])
    # The label band darkens the tile's top left; the missing image is a grey tile as wide.
    assert grid[7:20, 52:60].mean() < 0.5 * scaled[:13, 2:10].mean() + 40
    missing = grid[7:7 + 96, 50 + tile_w + 5:50 + 2 * tile_w + 5]
    assert (missing[25:40] == 128).all() and (missing[60:] == 128).all()
    # Keys are written in the left column, nothing else is drawn there.
    assert (grid[7:7 + 96, :50] < 255).any() and (grid[top2:top2 + 96, :50] < 255).any()
    assert (grid[:7] == 255).all() and (grid[:, -7:] == 255).all()


def test_long_labels_are_shortened_to_their_tile():
    img = _image(40, 40, 4)
    grid = image_grid([(None, [('a label far longer than the tile is wide', img)])])
    band = np.where((grid[:, :, 0].astype(int) - img[:, :, 0]) != 0)
    assert band[1].max() < 40


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match='no rows'):
        image_grid([])
