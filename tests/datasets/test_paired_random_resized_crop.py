"""PairedRandomResizedCrop (SPANet's RandomResizedCrop): one window for both images, within the
scale and ratio ranges, the fallback, and Pillow's bicubic resize."""
import numpy as np
import pytest
from PIL import Image

from restorelab.datasets.transforms import PairedRandomResizedCrop


def pair(h=40, w=60, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return dict(img=img, gt=img.copy())


def test_both_images_get_the_same_window_at_the_output_size():
    np.random.seed(0)
    t = PairedRandomResizedCrop(size=(16, 24))
    fitted = 0
    for _ in range(20):
        out = t(pair(48, 56))
        assert out['img'].shape == out['gt'].shape == (16, 24, 3)
        assert out['img'].dtype == np.uint8
        np.testing.assert_array_equal(out['img'], out['gt'])
        top, left, h, w = out['crop_bbox']
        assert 0 <= top <= 48 - h and 0 <= left <= 56 - w
        if (top, left, h, w) == (0, 4, 48, 48):  # the fallback: no try fitted
            continue
        assert 0.8 * 48 * 56 - 60 <= h * w <= 48 * 56  # area fraction in [0.8, 1] up to rounding
        assert 3 / 4 - 0.05 <= w / h <= 4 / 3 + 0.05 or 3 / 4 - 0.05 <= h / w <= 4 / 3 + 0.05
        fitted += 1
    assert fitted >= 10


def test_the_window_is_resized_with_pillow_bicubic():
    np.random.seed(1)
    results = pair(30, 30, seed=2)
    source = results['img'].copy()
    out = PairedRandomResizedCrop(size=12)(results)
    top, left, h, w = out['crop_bbox']
    want = np.asarray(Image.fromarray(source[top:top + h, left:left + w]).resize((12, 12), Image.BICUBIC))
    np.testing.assert_array_equal(out['img'], want)


def test_no_fitting_window_falls_back_to_the_central_square():
    np.random.seed(0)
    # A 10x100 image: no window of 80-100 % of its area has an aspect ratio within (3/4, 4/3).
    out = PairedRandomResizedCrop(size=5)(pair(10, 100))
    assert out['crop_bbox'] == (0, 45, 10, 10)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='scale must be'):
        PairedRandomResizedCrop(8, scale=(0.9, 0.5))
    results = pair()
    results['gt'] = results['gt'][:30]
    with pytest.raises(ValueError, match="'img' and 'gt' differ in size"):
        PairedRandomResizedCrop(8)(results)
    results = pair()
    results['img'] = results['img'].astype(np.float32)
    with pytest.raises(ValueError, match='must be a uint8'):
        PairedRandomResizedCrop(8)(results)
