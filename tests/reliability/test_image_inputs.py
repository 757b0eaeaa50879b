"""Image files in every form a user may hand over: loaded as RGB of the right
depth and orientation, or refused with a message naming the file."""
import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import TINY_CONFIG
from restorelab.apis import init_model, restore_image
from restorelab.datasets import PairedImageDataset
from restorelab.utils.image_io import ImageReadError, imread_rgb, imwrite_rgb

RNG = np.random.default_rng(0)


def test_sixteen_bit_gray_and_rgba(tmp_path):
    rgb16 = RNG.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    imwrite_rgb(tmp_path / 'a.png', rgb16)
    out = imread_rgb(tmp_path / 'a.png')
    assert out.dtype == np.uint16 and np.array_equal(out, rgb16)
    gray = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    assert np.array_equal(imread_rgb(tmp_path / 'g.png'), np.repeat(gray[..., None], 3, 2))
    rgba = RNG.integers(0, 65536, (5, 7, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / 'rgba.png'), rgba[..., [2, 1, 0, 3]])  # BGRA on disk
    out = imread_rgb(tmp_path / 'rgba.png')
    assert out.dtype == np.uint16 and np.array_equal(out, rgba[..., :3])  # alpha dropped
    la = RNG.integers(0, 256, (5, 7, 2), dtype=np.uint8)
    Image.fromarray(la, 'LA').save(tmp_path / 'la.png')
    assert np.array_equal(imread_rgb(tmp_path / 'la.png'), np.repeat(la[..., :1], 3, 2))


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    # Pure cyan, magenta and yellow stripes in a CMYK JPEG (as print workflows write).
    cmyk = np.zeros((8, 24, 4), np.uint8)
    cmyk[:, :8, 0] = cmyk[:, 8:16, 1] = cmyk[:, 16:, 2] = 255
    Image.fromarray(cmyk, 'CMYK').save(tmp_path / 'c.jpg', quality=100)
    out = imread_rgb(tmp_path / 'c.jpg').astype(int)
    expected = {0: (0, 255, 255), 8: (255, 0, 255), 16: (255, 255, 0)}
    for x, rgb in expected.items():
        assert np.abs(out[4, x + 4] - rgb).max() <= 3, (x, out[4, x + 4])


def test_exif_orientation_is_applied(tmp_path):
    # Stored 4 high x 8 wide with a red left half, tagged "rotate 90 degrees clockwise"
    # (EXIF orientation 6), as phones write portrait photos.
    stored = np.zeros((4, 8, 3), np.uint8)
    stored[:, :4, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / 'r.jpg', exif=exif, quality=100)
    out = imread_rgb(tmp_path / 'r.jpg')
    assert out.shape == (8, 4, 3)  # upright, as viewers show it
    assert out[1, 2, 0] > 200 and out[6, 2, 0] < 50  # the red half is now on top


def test_one_pixel_pair_trains_and_restores(tmp_path):
    for side, value in (('input', 200), ('target', 100)):
        imwrite_rgb(tmp_path / side / 'a.png', np.full((1, 1, 3), value, np.uint8))
    pipeline = [dict(type='LoadImageFromFile', key='img'), dict(type='LoadImageFromFile', key='gt'),
                dict(type='PairedRandomCrop', patch_size=32), dict(type='PackInputs')]
    sample = PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline)[0]
    # Padded by reflection to the patch: every pixel repeats the single one.
    assert tuple(sample['inputs'].shape) == (3, 32, 32)
    assert float(sample['inputs'].min()) == float(sample['inputs'].max()) == pytest.approx(200 / 255)
    model = init_model(TINY_CONFIG)
    out = restore_image(model, imread_rgb(tmp_path / 'input' / 'a.png'))
    assert out.shape == (1, 1, 3) and out.dtype == np.uint8


def test_unreadable_forms_are_refused_naming_the_file(tmp_path):
    cases = {
        'text.png': b'this is not an image',
        'empty.jpg': b'',
        'cut.png': None,
    }
    imwrite_rgb(tmp_path / 'whole.png', RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    cases['cut.png'] = (tmp_path / 'whole.png').read_bytes()[:100]
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageReadError, match=str(tmp_path / name)):
            imread_rgb(tmp_path / name)
    # 32-bit float TIFF: neither 8 nor 16 bits.
    cv2.imwrite(str(tmp_path / 'f.tif'), RNG.random((4, 4, 3), dtype=np.float32))
    with pytest.raises(ImageReadError, match=r"f\.tif.*pixel type float32; expected 8- or 16-bit"):
        imread_rgb(tmp_path / 'f.tif')
    with pytest.raises(ImageReadError, match='nope.png'):
        imread_rgb(tmp_path / 'nope.png')


def test_skip_option_draws_another_sample_in_training_only(tmp_path):
    for i in (1, 2, 3):
        for side in ('input', 'target'):
            imwrite_rgb(tmp_path / side / f'{i}.png', np.full((4, 4, 3), 10 * i, np.uint8))
    (tmp_path / 'input' / '2.png').write_bytes(b'broken')
    pipeline = [dict(type='LoadImageFromFile', key='img'), dict(type='LoadImageFromFile', key='gt'),
                dict(type='PackInputs')]
    ds = PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline, on_unreadable='skip')
    sample = ds[1]  # 2.png is unreadable: another pair comes instead
    assert sample['data_samples'].key in ('1', '3')
    assert list(ds.skipped) == [1] and 'input/2.png' in ds.skipped[1]
    ds.skipped.clear()
    with pytest.raises(ImageReadError, match='2.png'):
        PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline)[1]  # default: stop
    with pytest.raises(ImageReadError, match='2.png'):  # every test image must be scored
        PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline, on_unreadable='skip',
                           test_mode=True)[1]
    with pytest.raises(ValueError, match="on_unreadable must be one of"):
        PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline, on_unreadable='ignore')
