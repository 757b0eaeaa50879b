"""Synthetic rain: seeded, brightening only, parameters that do what they say, dataset forms."""
import cv2
import numpy as np
import pytest

from restorelab.datasets.layout import DatasetLayoutError
from restorelab.datasets.synthetic_rain import (SKIMAGE_PHOTOS, AddSyntheticRain,
                                                SyntheticRainDataset, SyntheticRainError,
                                                add_synthetic_rain, load_skimage_photo,
                                                motion_blur_kernel, resolve_rain_params,
                                                sample_rain_map)
from restorelab.registry import DATASETS
from restorelab.utils.image_io import imwrite_rgb


def _clean(h=96, w=128, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0.1, 0.6, size=(h, w, 3))
    top = 255 if dtype == np.uint8 else 65535
    return np.round(img * top).astype(dtype)


def _streak_angle(rain):
    """Streak direction in degrees from vertical (positive: lower end to the right), from the
    structure tensor of the map smoothed by a Gaussian (sigma 2; raw gradients of thin
    antialiased lines are biased towards the diagonals): streaks run perpendicular to the
    dominant gradient."""
    smooth = cv2.GaussianBlur(rain.astype(np.float32), (0, 0), 2.0)
    gy, gx = np.gradient(smooth.astype(np.float64))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    grad = 0.5 * np.arctan2(2 * jxy, jxx - jyy)  # gradient direction from the x axis
    sx, sy = -np.sin(grad), np.cos(grad)  # perpendicular: the streak direction
    if sy < 0:
        sx, sy = -sx, -sy
    return float(np.degrees(np.arctan2(sx, sy)))


def test_same_seed_same_rain_other_seed_other_rain():
    img = _clean()
    params = resolve_rain_params('heavy')
    a = add_synthetic_rain(img, 7, params)
    b = add_synthetic_rain(img, np.random.default_rng(7), params)
    c = add_synthetic_rain(img, 8, params)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 1


@pytest.mark.parametrize('blend', ['screen', 'additive'])
@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_rain_only_brightens_and_keeps_dtype(blend, dtype):
    img = _clean(dtype=dtype)
    out = add_synthetic_rain(img, 3, resolve_rain_params('heavy', blend=blend, haze=0.3))
    assert out.dtype == dtype and out.shape == img.shape
    assert (out >= img).all()
    assert (out > img).mean() > 0.05  # there is rain


def test_screen_blend_is_gentler_than_additive_on_bright_pixels():
    img = _clean()
    screen = add_synthetic_rain(img, 5, resolve_rain_params('light', blend='screen', haze=0.0))
    additive = add_synthetic_rain(img, 5, resolve_rain_params('light', blend='additive', haze=0.0))
    assert (additive >= screen).all() and (additive > screen).any()


def test_density_and_intensity_increase_the_rain():
    shape = (128, 128)
    maps = [sample_rain_map(shape, np.random.default_rng(0),
                            resolve_rain_params('light', density=d)).mean()
            for d in (0.0, 0.001, 0.004, 0.016)]
    assert maps[0] == 0.0
    assert maps[1] < maps[2] < maps[3]
    dim = sample_rain_map(shape, np.random.default_rng(0),
                          resolve_rain_params('light', intensity=0.3)).max()
    bright = sample_rain_map(shape, np.random.default_rng(0),
                             resolve_rain_params('light', intensity=0.9)).max()
    assert dim <= 0.3 + 1e-6 and bright > 0.6


@pytest.mark.parametrize('angle', [-30.0, 0.0, 20.0])
def test_streaks_fall_along_the_requested_angle(angle):
    params = resolve_rain_params('light', angle=angle, angle_jitter=0.0, length=30.0,
                                 density=0.003)
    rain = sample_rain_map((192, 192), np.random.default_rng(1), params)
    assert abs(_streak_angle(rain) - angle) < 3.5


def test_motion_blur_kernel_length_and_direction():
    k = motion_blur_kernel(21, 0.0)
    assert k.shape == (21, 21) and k.max() == 1.0
    rows = np.where(k.max(axis=1) > 0.5)[0]
    assert rows.max() - rows.min() + 1 == 21  # a vertical line of 21 pixels
    assert (k[:, 10] > 0.5).sum() == 21
    k = motion_blur_kernel(21, 45.0)
    # 10 pixels from the centre along (sin 45, cos 45): top-left to bottom-right, nothing
    # on the other diagonal.
    assert k[3, 3] > 0.5 and k[17, 17] > 0.5 and k[3, 17] == 0 and k[17, 3] == 0


def test_bad_parameters_are_named():
    with pytest.raises(SyntheticRainError, match="preset='medium'"):
        resolve_rain_params('medium')
    with pytest.raises(SyntheticRainError, match='unknown parameter.*densty'):
        resolve_rain_params('light', densty=0.1)
    with pytest.raises(SyntheticRainError, match='angle=\\(40, 10\\)'):
        resolve_rain_params('light', angle=(40, 10))
    with pytest.raises(SyntheticRainError, match="blend='multiply'"):
        resolve_rain_params('light', blend='multiply')


def test_transform_uses_rain_seed_then_own_seed():
    clean = _clean()
    t = AddSyntheticRain(preset='light')
    r1 = t(dict(gt=clean.copy(), gt_path='x.png', rain_seed=11))
    r2 = t(dict(gt=clean.copy(), gt_path='x.png', rain_seed=11))
    np.testing.assert_array_equal(r1['img'], r2['img'])
    assert r1['img_path'] == 'x.png' and r1['ori_shape'] == (96, 128) and r1['bit_depth'] == 8
    np.testing.assert_array_equal(r1['gt'], clean)
    a, b = AddSyntheticRain(preset='light', seed=4), AddSyntheticRain(preset='light', seed=4)
    first_a, first_b = a(dict(gt=clean))['img'], b(dict(gt=clean))['img']
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, a(dict(gt=clean))['img'])  # a stream, not one rain
    with pytest.raises(KeyError, match="LoadImageFromFile\\(key='gt'\\)"):
        t(dict(img=clean))


@pytest.fixture
def clean_folder(tmp_path):
    for i, name in enumerate(['a.png', 'b.png', 'sub/c.png']):
        imwrite_rgb(str(tmp_path / 'clean' / name), _clean(40, 48, seed=i))
    return str(tmp_path)


def test_dataset_yields_rainy_and_clean_deterministic_per_index(clean_folder):
    pipeline = [dict(type='PackInputs')]
    ds = SyntheticRainDataset(data_root=clean_folder, data_prefix=dict(gt='clean'),
                              rain=dict(preset='heavy'), deterministic=True, seed=3,
                              num_variants=2, pipeline=pipeline)
    assert len(ds) == 6
    keys = [ds.get_data_info(i)['key'] for i in range(6)]
    assert keys == ['a_1', 'a_2', 'b_1', 'b_2', 'sub/c_1', 'sub/c_2']
    x0, x0_again, x1 = ds[0], ds[0], ds[1]
    assert x0['inputs'].shape == (3, 40, 48)
    assert (x0['inputs'] >= x0['data_samples'].gt_img).all()
    assert (x0['inputs'] - x0['data_samples'].gt_img).mean() > 0.005
    assert (x0['inputs'] == x0_again['inputs']).all()
    assert not (x0['inputs'] == x1['inputs']).all()  # two variants of one image differ
    other = SyntheticRainDataset(data_root=clean_folder, data_prefix=dict(gt='clean'),
                                 deterministic=True, seed=4, num_variants=2, pipeline=pipeline)
    assert not (other[0]['inputs'] == x0['inputs']).all()


def test_dataset_for_training_draws_new_rain_and_builds_from_config(clean_folder):
    ds = DATASETS.build(dict(
        type='SyntheticRainDataset', data_root=clean_folder, data_prefix=dict(gt='clean'),
        rain=dict(preset='light', density=0.01),
        pipeline=[dict(type='PairedRandomCrop', patch_size=32), dict(type='PackInputs')]))
    assert len(ds) == 3 and 'rain_seed' not in ds.get_data_info(0)
    a, b = ds[0], ds[0]
    assert a['inputs'].shape == (3, 32, 32)
    assert not (a['inputs'] == b['inputs']).all()


def test_dataset_missing_folder_is_a_layout_error(tmp_path):
    with pytest.raises(DatasetLayoutError, match='clean-image folder'):
        SyntheticRainDataset(data_root=str(tmp_path), data_prefix=dict(gt='nothing'))


def test_skimage_photographs_load_without_download():
    for name in SKIMAGE_PHOTOS:
        img = load_skimage_photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
        assert min(img.shape[:2]) >= 300
    with pytest.raises(SyntheticRainError, match='available'):
        load_skimage_photo('lily')
