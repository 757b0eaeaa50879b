"""The protocol maths: reference values of the MATLAB scripts, closed forms, windows."""
import json
import math

import numpy as np
import pytest
from skimage.color import rgb2ycbcr
from skimage.metrics import structural_similarity

from restorelab.evaluation.functional import (PROTOCOLS, QUANTIZE_MODES, ImageSizeError,
                                              compute_metrics, compute_metrics_from_float,
                                              float_to_uint8, gaussian_window, matlab_round, psnr,
                                              quantize_image, rgb_to_y, ssim,
                                              ssim_2009_downsample, ssim_map)
from restorelab.evaluation.functional.psnr_ssim import _rcdnet_psnr
from restorelab.utils.image_io import imread_rgb

PSNR_TOL, SSIM_TOL = 1e-4, 1e-5


def _reference(shared_reference):
    return json.loads((shared_reference / 'metric_reference.json').read_text())


def test_restormer_protocol_matches_matlab_reference(shared_reference):
    ref = _reference(shared_reference)['restormer_protocol']
    folders = ref['files']
    values = ref['Rain200H']
    psnrs, ssims = [], []
    for name, expected in values.items():
        if name == 'mean':
            continue
        pred = imread_rgb(shared_reference / folders['results'] / name)
        gt = imread_rgb(shared_reference / folders['ground_truth'] / name)
        got = compute_metrics(pred, gt, 'restormer')
        assert got['psnr'] == pytest.approx(expected['psnr'], abs=PSNR_TOL), name
        assert got['ssim'] == pytest.approx(expected['ssim'], abs=SSIM_TOL), name
        psnrs.append(got['psnr'])
        ssims.append(got['ssim'])
    assert len(psnrs) == 3
    assert np.mean(psnrs) == pytest.approx(values['mean']['psnr'], abs=PSNR_TOL)
    assert np.mean(ssims) == pytest.approx(values['mean']['ssim'], abs=SSIM_TOL)


def test_rcdnet_protocol_matches_matlab_reference(shared_reference):
    ref = _reference(shared_reference)['rcdnet_protocol']
    folder = shared_reference / ref['files']['folder']
    values = ref['DID_DDN_sample']
    psnrs, ssims = [], []
    for name, expected in values.items():
        if name == 'mean':
            continue
        # The ground truths are JPEG data named .png: imread_rgb decodes by content.
        pred = imread_rgb(folder / name)
        gt = imread_rgb(folder / name.replace('_DR', '_GT'))
        got = compute_metrics(pred, gt, 'rcdnet')
        assert got['psnr'] == pytest.approx(expected['psnr'], abs=PSNR_TOL), name
        assert got['ssim'] == pytest.approx(expected['ssim'], abs=SSIM_TOL), name
        psnrs.append(got['psnr'])
        ssims.append(got['ssim'])
    assert len(psnrs) == 3
    assert np.mean(psnrs) == pytest.approx(values['mean']['psnr'], abs=PSNR_TOL)
    assert np.mean(ssims) == pytest.approx(values['mean']['ssim'], abs=SSIM_TOL)


def _random_image(seed, h=40, w=48):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_identical_images_give_inf_psnr_and_unit_ssim(protocol):
    img = _random_image(0)
    got = compute_metrics(img, img.copy(), protocol)
    assert got['psnr'] == math.inf
    assert got['ssim'] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_constant_luma_offset_gives_closed_form_psnr(protocol):
    # Gray levels 0 and 85 have exact luma 16 and 89 (219/255 = 73/85); +85 moves luma by
    # exactly 73 (73/255 for rcdnet's [0, 1] scale), so PSNR = 20 log10(255 / 73).
    levels = np.random.default_rng(1).integers(0, 2, (24, 30)) * 85
    gt = np.repeat(levels[..., None], 3, axis=2).astype(np.uint8)
    pred = gt + 85
    assert psnr(pred, gt, protocol) == pytest.approx(20 * math.log10(255 / 73), abs=1e-12)
    # Error on half of the pixels only: MSE = 73^2 / 2.
    half = gt.copy()
    half[:12] += 85
    assert psnr(half, gt, protocol) == pytest.approx(10 * math.log10(2 * 255**2 / 73**2), abs=1e-12)


def test_rcdnet_psnr_peak_follows_the_result_data():
    y = np.full((4, 4), 0.5)
    # psnr.m: peak 1 for data in [0, 1], 255 when the result's maximum exceeds 2.
    assert _rcdnet_psnr(y + 0.1, y) == pytest.approx(20.0, abs=1e-12)
    assert _rcdnet_psnr(y * 255 + 25.5, y * 255) == pytest.approx(20.0, abs=1e-12)


def test_restormer_luma_is_matlab_uint8_rgb2ycbcr():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    y = rgb_to_y(img, 'restormer')
    exact = 16 + (img.astype(np.float64) @ [65.481, 128.553, 24.966]) / 255
    assert np.array_equal(y, np.floor(exact + 0.5))
    assert y.min() >= 16 and y.max() <= 235
    # RGB (0, 204, 68) is an exact tie, Y = 125.5, which float arithmetic evaluates to
    # 125.49999999999999; the integer maths rounds it half away from zero as Octave does.
    assert 4080000 + 128553 * 204 + 24966 * 68 == 125.5 * 255000
    assert rgb_to_y(np.array([[[0, 204, 68]]], np.uint8), 'restormer')[0, 0] == 126


def test_unrounded_luma_matches_skimage_rgb2ycbcr():
    img = _random_image(3)
    y_skimage = rgb2ycbcr(img.astype(np.float64) / 255)[..., 0]
    np.testing.assert_allclose(rgb_to_y(img, 'basicsr'), y_skimage, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(img, 'rcdnet'), y_skimage / 255, rtol=0, atol=1e-14)


def test_gaussian_window_is_fspecial_gaussian_11_15():
    g = gaussian_window()
    x = np.arange(11) - 5
    w2d = np.exp(-(x[:, None]**2 + x[None, :]**2) / (2 * 1.5**2))
    np.testing.assert_allclose(np.outer(g, g), w2d / w2d.sum(), rtol=0, atol=1e-17)


def test_ssim_map_is_valid_filtering_checked_window_by_window():
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 255, (13, 14))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    got = ssim_map(a, b)
    assert got.shape == (3, 4)  # 'valid': 10 pixels smaller each way
    x = np.arange(11) - 5
    w = np.exp(-(x[:, None]**2 + x[None, :]**2) / (2 * 1.5**2))
    w /= w.sum()
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    for i in range(3):
        for j in range(4):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va = (w * pa * pa).sum() - ma**2
            vb = (w * pb * pb).sum() - mb**2
            cov = (w * pa * pb).sum() - ma * mb
            expected = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            assert got[i, j] == pytest.approx(expected, abs=1e-12)
    # A change in the outer ring touches only the border windows of the 'valid' map.
    b2 = b.copy()
    b2[0, 0] = 255 - b2[0, 0]
    changed = ~np.isclose(ssim_map(a, b2), got, rtol=0, atol=0)
    assert changed[0, 0] and changed.sum() == 1


def test_restormer_ssim_equals_skimage_gaussian_ssim_on_luma():
    pred, gt = _random_image(5, 50, 60), _random_image(6, 50, 60)
    y_pred, y_gt = rgb_to_y(pred, 'restormer'), rgb_to_y(gt, 'restormer')
    expected = structural_similarity(y_pred, y_gt, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
    assert ssim(pred, gt, 'restormer') == pytest.approx(expected, abs=1e-10)


def test_matlab_round_is_half_away_from_zero():
    assert [matlab_round(v) for v in (0.5, 1.5, 2.5, -2.5, 2.49)] == [1, 2, 3, -3, 2]


def test_ssim_2009_downsampling_by_two_averages_2x2_blocks():
    img = np.random.default_rng(7).uniform(0, 255, (511, 520))  # round(511/256) = 2
    out = ssim_2009_downsample(img)
    assert out.shape == (256, 260)
    assert out[10, 20] == pytest.approx(img[20:22, 40:42].mean(), abs=1e-12)
    # Last row: the box reaches one row past the edge, mirrored ('symmetric') = repeated.
    last = np.concatenate([img[510:511, 6:8], img[510:511, 6:8]])
    assert out[255, 3] == pytest.approx(last.mean(), abs=1e-12)


def test_ssim_2009_downsampling_factor_uses_matlab_rounding():
    # 640 / 256 = 2.5: MATLAB rounds to 3 (Python's round would give 2); box centred.
    img = np.random.default_rng(8).uniform(0, 255, (640, 645))
    out = ssim_2009_downsample(img)
    assert out.shape == (214, 215)
    assert out[5, 7] == pytest.approx(img[14:17, 20:23].mean(), abs=1e-12)
    corner = img[[0, 0, 1]][:, [0, 0, 1]]
    assert out[0, 0] == pytest.approx(corner.mean(), abs=1e-12)
    small = np.zeros((383, 400))  # round(383/256) = 1: no downsampling
    assert ssim_2009_downsample(small) is small


def test_rcdnet_ssim_downsamples_and_restormer_does_not():
    pred, gt = _random_image(9, 400, 400), _random_image(10, 400, 400)
    y_pred, y_gt = rgb_to_y(pred, 'rcdnet') * 255, rgb_to_y(gt, 'rcdnet') * 255
    expected = ssim_map(y_pred[:-1:2, :-1:2] / 4 + y_pred[1::2, :-1:2] / 4 + y_pred[:-1:2, 1::2] / 4
                        + y_pred[1::2, 1::2] / 4,
                        y_gt[:-1:2, :-1:2] / 4 + y_gt[1::2, :-1:2] / 4 + y_gt[:-1:2, 1::2] / 4
                        + y_gt[1::2, 1::2] / 4).mean()
    assert ssim(pred, gt, 'rcdnet') == pytest.approx(expected, abs=1e-12)
    assert ssim(pred, gt, 'restormer') != pytest.approx(expected, abs=1e-3)


def test_basicsr_crop_border_equals_scoring_the_cropped_images():
    pred, gt = _random_image(11), _random_image(12)
    got = compute_metrics(pred, gt, 'basicsr', crop_border=4)
    expected = compute_metrics(pred[4:-4, 4:-4], gt[4:-4, 4:-4], 'basicsr')
    assert got == pytest.approx(expected, abs=1e-12)
    assert got['psnr'] != pytest.approx(psnr(pred, gt, 'basicsr'), abs=1e-6)


def test_crop_border_is_refused_for_the_matlab_protocols():
    img = _random_image(13)
    with pytest.raises(ValueError, match="crop_border=4 is not part of the 'restormer'"):
        psnr(img, img, 'restormer', crop_border=4)


def test_different_sizes_are_refused_naming_both_images_and_sizes():
    with pytest.raises(ImageSizeError, match=r'result out/1\.png \(40x48\) vs ground truth '
                                             r'gt/1\.jpg \(40x50\)'):
        compute_metrics(_random_image(0), _random_image(1, 40, 50), 'restormer',
                        names=('out/1.png', 'gt/1.jpg'))
    with pytest.raises(ImageSizeError, match=r'40x48.*40x50'):
        ssim(_random_image(0), _random_image(1, 40, 50), 'rcdnet')


def test_bad_inputs_are_refused_with_the_expected_form():
    img = _random_image(0)
    with pytest.raises(ValueError, match='unknown evaluation protocol'):
        psnr(img, img, 'matlab')
    with pytest.raises(TypeError, match='compute_metrics_from_float'):
        psnr(img / 255.0, img / 255.0, 'restormer')
    with pytest.raises(ValueError, match='smaller than the 11x11 SSIM window'):
        ssim(img[:10], img[:10], 'restormer')


def test_float_entry_point_rounds_to_8_bits_half_to_even():
    x = np.array([[[-0.1, 0.0, 1.2], [0.5, 1 / 255, 0.2]]], dtype=np.float32)
    # 0.5 * 255 = 127.5 rounds half to even; 0.2 * 255 = 51.0000008 in float32.
    assert float_to_uint8(x).tolist() == [[[0, 0, 255], [128, 1, 51]]]
    rng = np.random.default_rng(14)
    pred, gt = rng.random((30, 32, 3), np.float32), rng.random((30, 32, 3), np.float32)
    for protocol in PROTOCOLS:
        assert compute_metrics_from_float(pred, gt, protocol) == compute_metrics(
            float_to_uint8(pred), float_to_uint8(gt), protocol)


def test_truncate_cuts_towards_zero_in_the_input_float_dtype():
    x = np.array([[[-0.1, 0.0, 1.2], [0.5, 1 / 255, 0.9999]]], dtype=np.float32)
    # np.uint8(255 * clamp(out, 0, 1)) of the PReNet/BRN/AIDNet test scripts.
    expected = np.uint8(255 * np.clip(x, 0, 1))
    assert quantize_image(x, 8, 'truncate').tolist() == expected.tolist() \
        == [[[0, 0, 255], [127, 1, 254]]]
    # Every 8-bit level survives the float32 round trip k / 255 * 255 in both modes.
    levels = np.arange(256, dtype=np.float32)[None, None] / np.float32(255)
    for mode in QUANTIZE_MODES:
        assert quantize_image(levels, 8, mode).ravel().tolist() == list(range(256))
    assert quantize_image(np.array([[[0.5, 1.0, 0.25]]]), 16, 'truncate').tolist() == \
        [[[32767, 65535, 16383]]]
    assert quantize_image(np.array([[[0.5, 1.0, 0.25]]]), 16, 'round').tolist() == \
        [[[32768, 65535, 16384]]]


def test_quantize_option_applies_to_the_prediction_only():
    rng = np.random.default_rng(3)
    pred = rng.random((24, 24, 3), np.float32)
    gt = float_to_uint8(rng.random((24, 24, 3), np.float32))
    gt_float = gt.astype(np.float32) / 255
    for protocol in PROTOCOLS:
        got = compute_metrics_from_float(pred, gt_float, protocol, quantize='truncate')
        assert got == compute_metrics(np.uint8(255 * pred), gt, protocol)
        assert got != compute_metrics_from_float(pred, gt_float, protocol)


@pytest.mark.parametrize('bad', ['floor', None, 'ROUND'])
def test_unknown_quantize_mode_is_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match=r"expected one of \('round', 'truncate'\)"):
        quantize_image(np.zeros((2, 2, 3), np.float32), 8, bad)
    with pytest.raises(ValueError, match='bit_depth must be 8 or 16'):
        quantize_image(np.zeros((2, 2, 3), np.float32), 12, 'round')


def test_rgb_convention_is_the_protocol_on_the_three_channels():
    """channels='rgb': PSNR of one MSE over all channels, SSIM the mean of the channels' SSIM;
    for 8-bit images every protocol gives skimage's RGB numbers (rcdnet's im2double PSNR with
    peak 1 equals peak 255 on the 8-bit values)."""
    from skimage.metrics import peak_signal_noise_ratio
    rng = np.random.default_rng(11)
    gt = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
    pred = np.clip(gt.astype(int) + rng.integers(-25, 26, gt.shape), 0, 255).astype(np.uint8)
    expected_psnr = peak_signal_noise_ratio(gt, pred, data_range=255)
    expected_ssim = structural_similarity(gt, pred, channel_axis=2, gaussian_weights=True,
                                          sigma=1.5, use_sample_covariance=False, data_range=255)
    for protocol in ('restormer', 'basicsr'):
        got = compute_metrics(pred, gt, protocol, channels='rgb')
        assert got['psnr'] == pytest.approx(expected_psnr, abs=1e-10)
        assert got['ssim'] == pytest.approx(expected_ssim, abs=1e-10)
    assert compute_metrics(pred, gt, 'rcdnet', channels='rgb')['psnr'] == pytest.approx(
        expected_psnr, abs=1e-10)
    # The luma convention is another number from the same images.
    assert compute_metrics(pred, gt, 'restormer')['psnr'] != pytest.approx(expected_psnr, abs=0.1)
    with pytest.raises(ValueError, match=r"unknown channel convention 'ycbcr'"):
        compute_metrics(pred, gt, 'restormer', channels='ycbcr')
