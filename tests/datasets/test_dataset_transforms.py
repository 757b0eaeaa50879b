"""Loading, paired geometric transforms and packing: rain and gt stay aligned pixel for
pixel, padding and value scaling are exact, and bad input names its file."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import set_random_seed

from restorelab.datasets.transforms import (LoadImageFromFile, PackInputs, PairedRandomCrop,
                                            PairedRandomFlip, PairedRandomRot90,
                                            PairedRandomTranspose)
from restorelab.utils.image_io import ImageReadError, imwrite_rgb


def unique_pixels(h, w):
    """(h, w, 3) uint8 image whose (R, G) pair differs at every pixel (h * w <= 65536)."""
    i = np.arange(h * w).reshape(h, w)
    return np.stack([i % 256, i // 256, (i * 7) % 256], axis=-1).astype(np.uint8)


def d4(img, k, flip_ud):
    out = np.rot90(img, k, axes=(0, 1))
    return out[::-1] if flip_ud else out


# ----------------------------------------------------------------------------- loading
def test_load_16bit_png(tmp_path):
    img = (np.arange(4 * 5 * 3, dtype=np.uint16).reshape(4, 5, 3) * 1000 + 7)
    imwrite_rgb(str(tmp_path / 'a.png'), img)
    res = LoadImageFromFile('img')(dict(img_path=str(tmp_path / 'a.png')))
    assert res['img'].dtype == np.uint16 and res['bit_depth'] == 16
    np.testing.assert_array_equal(res['img'], img)
    assert res['ori_shape'] == (4, 5)


def test_load_gray_and_rgba(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    res = LoadImageFromFile('gt')(dict(gt_path=str(tmp_path / 'g.png')))
    assert res['gt'].shape == (3, 4, 3) and res['gt_bit_depth'] == 8
    assert res['gt_ori_shape'] == (3, 4) and 'ori_shape' not in res
    for c in range(3):
        np.testing.assert_array_equal(res['gt'][..., c], gray)
    bgra = np.zeros((2, 3, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 0
    cv2.imwrite(str(tmp_path / 'rgba.png'), bgra)
    res = LoadImageFromFile()(dict(img_path=str(tmp_path / 'rgba.png')))
    assert res['img'].shape == (2, 3, 3)
    assert res['img'][0, 0].tolist() == [30, 20, 10]  # RGB, alpha dropped, not premultiplied


def test_load_jpeg_named_png(tmp_path):
    img = np.full((8, 8, 3), (200, 100, 50), np.uint8)
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (tmp_path / 'fake.png').write_bytes(buf.tobytes())
    res = LoadImageFromFile()(dict(img_path=str(tmp_path / 'fake.png')))
    assert res['bit_depth'] == 8
    assert np.abs(res['img'].astype(int) - img).max() <= 2  # JPEG of a flat colour


def test_unreadable_and_missing_files_are_named(tmp_path):
    (tmp_path / 'broken.png').write_bytes(b'not an image at all')
    with pytest.raises(ImageReadError, match='broken.png'):
        LoadImageFromFile()(dict(img_path=str(tmp_path / 'broken.png')))
    with pytest.raises(ImageReadError, match='gone.png'):
        LoadImageFromFile('gt')(dict(gt_path=str(tmp_path / 'gone.png')))
    with pytest.raises(KeyError, match="needs 'gt_path'"):
        LoadImageFromFile('gt')(dict(img_path='x.png'))


# ----------------------------------------------------------------------------- alignment
@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_crop_rot_flip_keep_rain_and_gt_aligned(dtype):
    rain = unique_pixels(23, 31).astype(dtype)
    top = np.iinfo(dtype).max
    gt = (top - rain).astype(dtype)
    pipeline = [PairedRandomCrop(9), PairedRandomRot90(),
                PairedRandomFlip(0.5, 'vertical'), PairedRandomFlip(0.5, 'horizontal'),
                PairedRandomTranspose(0.5)]
    np.random.seed(3)
    windows, outputs = set(), set()
    for _ in range(60):
        res = dict(img=rain, gt=gt, img_path='r.png', gt_path='g.png')
        for t in pipeline:
            res = t(res)
        assert res['img'].shape == res['gt'].shape == (9, 9, 3)
        np.testing.assert_array_equal(res['gt'], top - res['img'])  # pixelwise partner kept
        # the output is the recorded window under the recorded rotation/flips
        t0, l0, ph, pw = res['crop_bbox']
        expected = np.rot90(rain[t0:t0 + ph, l0:l0 + pw], res['rot90'], axes=(0, 1))
        for direction in res['flip']:
            if direction:
                expected = np.flip(expected, 0 if direction == 'vertical' else 1)
        if res['transpose']:
            expected = expected.transpose(1, 0, 2)
        np.testing.assert_array_equal(res['img'], expected)
        windows.add((t0, l0))
        outputs.add(res['img'].tobytes())
    assert len(windows) > 20  # the window moves


def test_rot90_then_vertical_flip_draws_all_eight_dihedral_images():
    """Restormer's geometric_augs: one of 8 rotations/reflections, each equally likely."""
    img = unique_pixels(4, 4)
    expected = {d4(img, k, f).tobytes(): (k, f) for k in range(4) for f in (0, 1)}
    assert len(expected) == 8
    np.random.seed(0)
    counts = dict.fromkeys(expected.values(), 0)
    rot, flip = PairedRandomRot90(keys=('img',)), PairedRandomFlip(0.5, 'vertical', keys=('img',))
    for _ in range(1600):
        out = flip(rot(dict(img=img)))['img']
        counts[expected[out.tobytes()]] += 1
    assert all(150 <= c <= 250 for c in counts.values()), counts


def test_flip_probability_extremes():
    img = unique_pixels(3, 4)
    res = PairedRandomFlip(1.0, 'horizontal', keys=('img',))(dict(img=img))
    np.testing.assert_array_equal(res['img'], img[:, ::-1])
    res = PairedRandomFlip(0.0, 'horizontal', keys=('img',))(dict(img=img))
    np.testing.assert_array_equal(res['img'], img)


def test_small_image_is_reflect_padded_bottom_right():
    rain = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)[..., None].repeat(3, axis=2)
    res = PairedRandomCrop((4, 5))(dict(img=rain, gt=255 - rain))
    # edge pixel repeated (np.pad 'symmetric' == cv2.BORDER_REFLECT, as Restormer pads)
    expected = np.array([[1, 2, 3, 3, 2],
                         [4, 5, 6, 6, 5],
                         [4, 5, 6, 6, 5],
                         [1, 2, 3, 3, 2]], np.uint8)
    np.testing.assert_array_equal(res['img'][..., 0], expected)
    np.testing.assert_array_equal(res['gt'][..., 1], 255 - expected)
    assert res['crop_bbox'] == (0, 0, 4, 5)
    tiny = PairedRandomCrop(4)(dict(img=np.full((1, 1, 3), 9, np.uint8), gt=np.zeros((1, 1, 3),
                                                                                     np.uint8)))
    assert tiny['img'].shape == (4, 4, 3) and (tiny['img'] == 9).all()


def test_crop_size_mismatch_names_both_files():
    res = dict(img=np.zeros((10, 12, 3), np.uint8), gt=np.zeros((10, 11, 3), np.uint8),
               img_path='data/in/7.png', gt_path='data/gt/7.png')
    with pytest.raises(ValueError) as err:
        PairedRandomCrop(4)(res)
    msg = str(err.value)
    assert 'data/in/7.png' in msg and 'data/gt/7.png' in msg
    assert '(10, 12)' in msg and '(10, 11)' in msg
    with pytest.raises(KeyError, match=r"\['gt'\]"):
        PairedRandomCrop(4)(dict(img=np.zeros((4, 4, 3), np.uint8)))


def test_seeded_pipeline_is_reproducible():
    rain = unique_pixels(40, 40)
    pipeline = [PairedRandomCrop(8), PairedRandomRot90(), PairedRandomFlip(0.5, 'vertical')]

    def run():
        set_random_seed(123)
        outs = []
        for _ in range(5):
            res = dict(img=rain, gt=rain)
            for t in pipeline:
                res = t(res)
            outs.append(res['img'].copy())
        return outs

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert len({o.tobytes() for o in first}) > 1


# ----------------------------------------------------------------------------- packing
def test_pack_inputs_is_exact_for_8_and_16_bits():
    v8 = np.arange(256, dtype=np.uint8)
    img = np.stack([v8, v8[::-1], v8], axis=-1)[None]  # (1, 256, 3), channel 1 reversed
    out = PackInputs()(dict(img=img, gt=img, img_path='a.png', gt_path='b.png', key='a',
                            ori_shape=(1, 256), bit_depth=8))
    inputs = out['inputs']
    assert inputs.dtype == torch.float32 and inputs.shape == (3, 1, 256)
    want = np.array([np.float32(v / 255) for v in range(256)], np.float32)
    np.testing.assert_array_equal(inputs[0, 0].numpy(), want)
    np.testing.assert_array_equal(inputs[1, 0].numpy(), want[::-1])  # channel order kept
    sample = out['data_samples']
    assert torch.equal(sample.gt_img, inputs)
    assert sample.metainfo == dict(img_path='a.png', gt_path='b.png', key='a',
                                   ori_shape=(1, 256), bit_depth=8)
    v16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    out = PackInputs()(dict(img=np.stack([v16] * 3, axis=-1)))
    want16 = np.array([np.float32(v / 65535) for v in range(65536)], np.float32)
    np.testing.assert_array_equal(out['inputs'][2].numpy().ravel(), want16)
    assert 'gt_img' not in out['data_samples']


def test_pack_inputs_takes_flipped_views_and_refuses_size_mismatch():
    img = unique_pixels(5, 6)
    out = PackInputs()(dict(img=img[::-1, ::-1]))
    np.testing.assert_array_equal((out['inputs'] * 255).round().byte().numpy(),
                                  img[::-1, ::-1].transpose(2, 0, 1))
    with pytest.raises(ValueError, match=r"'r\.png' is \(5, 6\).*'g\.png' is \(5, 5\)"):
        PackInputs()(dict(img=img, gt=img[:, :5], img_path='r.png', gt_path='g.png'))
    with pytest.raises(TypeError, match='int32'):
        PackInputs()(dict(img=img.astype(np.int32)))


def test_transforms_build_lazily_from_restorelab_scope():
    """A fresh process: the registry's location imports the transforms; names that mmcv also
    registers (LoadImageFromFile) resolve to restorelab's class in the restorelab scope."""
    code = (
        'from mmengine.registry import TRANSFORMS, init_default_scope\n'
        'from restorelab.registry import DATASETS\n'
        "init_default_scope('restorelab')\n"
        "t = TRANSFORMS.build(dict(type='LoadImageFromFile', key='gt'))\n"
        "p = TRANSFORMS.build(dict(type='PairedRandomCrop', patch_size=4))\n"
        "d = DATASETS.get('PairedImageDataset')\n"
        'print(type(t).__module__, type(p).__module__, d.__module__)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['restorelab.datasets.transforms.loading',
                                  'restorelab.datasets.transforms.geometric',
                                  'restorelab.datasets.paired_image']
