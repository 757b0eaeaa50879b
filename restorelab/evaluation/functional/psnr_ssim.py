"""PSNR and SSIM under the evaluation protocols of the deraining literature.

This module is the single implementation behind the runner metrics
(``restorelab.evaluation.metrics``), ``tools/eval_images.py`` and the
benchmarks. Everything is plain numpy in float64.

Protocols (all score the luma channel Y of 8-bit RGB images):

``restormer``
    Restormer's ``evaluate_PSNR_SSIM.m`` (used by Restormer and DRSformer for
    Rain200L/H and SPA-Data): MATLAB ``rgb2ycbcr`` on uint8 input, whose Y is
    rounded to an integer; PSNR = 20 log10(255 / RMSE); SSIM of Wang et al.
    (2003 code): 11x11 Gaussian window, sigma 1.5, 'valid' filtering, mean of
    the map.
``rcdnet``
    RCDNet's ``statistic.m`` with its own ``psnr.m`` and ``ssim.m`` (used for
    DID-Data and DDN-Data): ``im2double`` then ``rgb2ycbcr`` on doubles (Y not
    rounded, in [16/255, 235/255]); PSNR with the peak chosen by ``psnr.m``
    from the result's data (1, or 255 when its maximum exceeds 2); SSIM of
    ``Y*255`` with Wang's 2009 ``ssim.m``, which first downsamples by
    ``f = max(1, round(min(H, W) / 256))``.
``basicsr``
    BasicSR / mmagic style: float Y in [0, 255] (not rounded), ``crop_border``
    pixels removed from every edge, PSNR = 10 log10(255^2 / MSE), the same
    Gaussian 'valid' SSIM. BasicSR computes Y in float32; here it is float64
    (the difference is below 1e-5 dB).

Images are ``(H, W, 3)`` RGB uint8 arrays, i.e. the 8-bit images as saved and
scored. Float images in [0, 1] go through :func:`float_to_uint8` first (see
:func:`compute_metrics_from_float`): rounded by default, or truncated
(``quantize='truncate'``) as the PReNet/BRN/AIDNet test scripts save their results.
"""
import math

import numpy as np

from restorelab.utils.errors import ImageSizeError

PROTOCOLS = ('restormer', 'rcdnet', 'basicsr')
METRIC_NAMES = ('psnr', 'ssim')
# Which channels are scored: the luma Y (every protocol's declared convention) or the three RGB
# channels, the other convention some papers report (see compute_metrics).
CHANNELS = ('y', 'rgb')

# ITU-R BT.601 luma for RGB in [0, 1], as MATLAB's rgb2ycbcr and BasicSR use it.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)

_SSIM_K1, _SSIM_K2, _SSIM_L = 0.01, 0.03, 255.0
_SSIM_WINDOW_SIZE, _SSIM_SIGMA = 11, 1.5


def check_protocol(protocol, crop_border=0):
    """Validate a protocol name and its ``crop_border``; returns the protocol."""
    if protocol not in PROTOCOLS:
        raise ValueError(f'unknown evaluation protocol {protocol!r}; expected one of {PROTOCOLS}')
    if not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise ValueError(f'crop_border must be a non-negative integer, got {crop_border!r}')
    if crop_border and protocol != 'basicsr':
        raise ValueError(
            f'crop_border={crop_border} is not part of the {protocol!r} protocol (its MATLAB script '
            "scores the whole image); use protocol='basicsr' to crop borders")
    return protocol


QUANTIZE_MODES = ('round', 'truncate')


def check_quantize(mode):
    """Validate an output quantisation mode; returns it."""
    if mode not in QUANTIZE_MODES:
        raise ValueError(f'unknown output quantisation {mode!r}; expected one of {QUANTIZE_MODES} '
                         "('round': nearest level, as restorelab, Restormer and DRSformer save; "
                         "'truncate': np.uint8(255 * out), as the PReNet/BRN/AIDNet test scripts "
                         'save)')
    return mode


def quantize_image(img, bit_depth=8, mode='round'):
    """A float image in [0, 1] -> ``uint8`` (``bit_depth=8``) or ``uint16`` (16).

    ``mode='round'``: ``np.round(np.clip(img, 0, 1) * peak)``, ties to even, which is
    what ``skimage.img_as_ubyte`` does when the Restormer/DRSformer test scripts save
    their results. ``mode='truncate'``: ``np.clip(img, 0, 1) * peak`` cut towards zero,
    which is what ``np.uint8(255 * out)`` does in the PReNet/BRN/AIDNet test scripts
    (their outputs are clamped to [0, 1] first). The product is computed in the input's
    float dtype (float32 stays float32), as those scripts compute it, so scores of
    in-memory predictions equal scores of the files the scripts save.
    """
    check_quantize(mode)
    if bit_depth not in (8, 16):
        raise ValueError(f'bit_depth must be 8 or 16, got {bit_depth!r}')
    img = np.asarray(img)
    if not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f'quantize_image expects a float image in [0, 1], got dtype {img.dtype}')
    if np.isnan(img).any():
        raise ValueError('quantize_image: the image contains NaN values')
    peak = img.dtype.type(255 if bit_depth == 8 else 65535)
    scaled = np.clip(img, 0, 1) * peak
    scaled = np.round(scaled) if mode == 'round' else np.trunc(scaled)
    return scaled.astype(np.uint8 if bit_depth == 8 else np.uint16)


def float_to_uint8(img, quantize='round'):
    """Quantise a float image in [0, 1] to 8 bits (:func:`quantize_image`); by default
    ``np.round(np.clip(img, 0, 1) * 255)`` with ties to even."""
    return quantize_image(img, 8, quantize)


def check_image_pair(pred, gt, protocol, crop_border=0, names=None):
    """Raise a clear error unless ``pred`` and ``gt`` can be scored under ``protocol``.

    Both must be ``(H, W, 3)`` uint8 of the same size, and large enough for the
    11x11 SSIM window after ``crop_border``. ``names`` = ``(result, gt)`` file
    names for the messages. This is everything :func:`compute_metrics` checks
    before it computes, so folder tools can validate all pairs first.
    """
    check_protocol(protocol, crop_border)
    _check_pair(pred, gt, names)
    h, w = pred.shape[:2]
    if min(h, w) - 2 * crop_border < _SSIM_WINDOW_SIZE:
        label = f' {names[0]}' if names and names[0] else ''
        raise ValueError(
            f'image{label} is {h}x{w}; with crop_border={crop_border} it is smaller than the '
            f'{_SSIM_WINDOW_SIZE}x{_SSIM_WINDOW_SIZE} SSIM window')


def _describe(name, img):
    return f'{name} ({img.shape[0]}x{img.shape[1]})' if name else f'{img.shape[0]}x{img.shape[1]}'


def _check_pair(pred, gt, names=None):
    """Both images must be ``(H, W, 3)`` uint8 of the same size."""
    names = names or (None, None)
    for img, role, name in ((pred, 'result', names[0]), (gt, 'ground truth', names[1])):
        label = f'{role} {name}' if name else role
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise TypeError(
                f'{label}: expected an (H, W, 3) uint8 RGB array, got '
                f'{type(img).__name__} {getattr(img, "dtype", "")}; '
                'for float images in [0, 1] use compute_metrics_from_float')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'{label}: expected an (H, W, 3) RGB array, got shape {img.shape}')
    if pred.shape != gt.shape:
        raise ImageSizeError(
            f'image sizes differ: result {_describe(names[0], pred)} vs ground truth '
            f'{_describe(names[1], gt)} (height x width); metrics compare images of the same size')


def rgb_to_y(img, protocol):
    """Luma of an ``(H, W, 3)`` RGB uint8 image as the protocol computes it.

    Returns float64 ``(H, W)``: integers in [16, 235] for ``restormer``
    (MATLAB rgb2ycbcr on uint8 rounds), [16/255, 235/255] for ``rcdnet``
    (rgb2ycbcr on im2double input), [16, 235] unrounded for ``basicsr``.
    """
    rgb = img.astype(np.float64)
    if protocol == 'restormer':
        # MATLAB rgb2ycbcr on uint8 returns uint8: Y rounded half away from zero.
        # Y = N / 255000 with the integer N below, so the rounding is done exactly
        # in integers. Exact .5 ties (194 of the 256^3 colours) round up, as in the
        # maths and in Octave; MATLAB's float arithmetic lands some of them just
        # below .5 (an effect below 3.3e-5 dB PSNR per image).
        rgb_int = img.astype(np.int64)
        n = 4080000 + 65481 * rgb_int[..., 0] + 128553 * rgb_int[..., 1] + 24966 * rgb_int[..., 2]
        return ((2 * n + 255000) // 510000).astype(np.float64)
    if protocol == 'rcdnet':
        # im2double, then rgb2ycbcr on doubles: offset 16/255, no rounding.
        return (rgb / 255.0) @ _Y_WEIGHTS / 255.0 + 16.0 / 255.0
    if protocol == 'basicsr':
        return (rgb / 255.0) @ _Y_WEIGHTS + 16.0
    check_protocol(protocol)


def gaussian_window(size=_SSIM_WINDOW_SIZE, sigma=_SSIM_SIGMA):
    """The 1-D factor ``g`` of MATLAB ``fspecial('gaussian', size, sigma)`` = ``outer(g, g)``.

    Normalised to sum 1, so the 2-D window also sums to 1.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _correlate_valid(img, g):
    """``filter2(outer(g, g), img, 'valid')``: separable correlation without padding.

    ``img`` is ``(H, W)`` float64; the result is ``(H - k + 1, W - k + 1)``.
    """
    k = len(g)
    h, w = img.shape
    rows = np.zeros((h - k + 1, w), dtype=np.float64)
    for i in range(k):
        rows += g[i] * img[i:i + h - k + 1, :]
    out = np.zeros((h - k + 1, w - k + 1), dtype=np.float64)
    for j in range(k):
        out += g[j] * rows[:, j:j + w - k + 1]
    return out


def ssim_map(img1, img2, window_size=_SSIM_WINDOW_SIZE, sigma=_SSIM_SIGMA, data_range=_SSIM_L):
    """SSIM map of two ``(H, W)`` float64 images, Wang et al.'s MATLAB ``ssim_index``.

    Gaussian window, population moments, constants ``(0.01 L)^2`` and
    ``(0.03 L)^2``, 'valid' filtering: the map is ``(H - 10, W - 10)`` for the
    11x11 window.
    """
    if min(img1.shape) < window_size:
        raise ValueError(
            f'SSIM needs images of at least {window_size}x{window_size} pixels (its Gaussian '
            f'window); got {img1.shape[0]}x{img1.shape[1]}')
    g = gaussian_window(window_size, sigma)
    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    mu1 = _correlate_valid(img1, g)
    mu2 = _correlate_valid(img2, g)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = _correlate_valid(img1 * img1, g) - mu1_sq
    sigma2_sq = _correlate_valid(img2 * img2, g) - mu2_sq
    sigma12 = _correlate_valid(img1 * img2, g) - mu1_mu2
    return ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / (
        (mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))


def matlab_round(x):
    """MATLAB ``round``: halves away from zero (Python's ``round`` is half to even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def ssim_2009_downsample(img):
    """The automatic downsampling of Wang's 2009 ``ssim.m`` on an ``(H, W)`` image.

    ``f = max(1, round(min(H, W) / 256))``; for ``f > 1`` the image goes through
    ``imfilter(img, ones(f)/f^2, 'symmetric', 'same')`` (correlation whose
    kernel centre is element ``floor((f + 1) / 2)``, so for f = 2
    ``out(i, j)`` = mean of ``img(i:i+1, j:j+1)``; mirrored edges) and every
    f-th row and column is kept, starting from the first.
    """
    f = max(1, matlab_round(min(img.shape) / 256))
    if f == 1:
        return img
    centre = (f + 1) // 2  # 1-based, as in imfilter
    before, after = centre - 1, f - centre
    padded = np.pad(img, ((before, after), (before, after)), mode='symmetric')
    h, w = img.shape
    box = np.zeros_like(img)
    for di in range(f):
        for dj in range(f):
            box += padded[di:di + h, dj:dj + w]
    box /= f * f
    return box[::f, ::f]


def _rcdnet_psnr(result_y, gt_y):
    """RCDNet's ``psnr.m``: peak 1, or 255 when the result's maximum exceeds 2."""
    peak = 255.0 if result_y.max() > 2 else 1.0
    mse = np.mean((result_y - gt_y) ** 2)
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(peak * peak / mse))


def _psnr_y(pred_y, gt_y, protocol):
    if protocol == 'rcdnet':
        return _rcdnet_psnr(pred_y, gt_y)
    mse = np.mean((pred_y - gt_y) ** 2)
    if mse == 0:
        return math.inf
    if protocol == 'restormer':
        return float(20.0 * np.log10(255.0 / np.sqrt(mse)))
    return float(10.0 * np.log10(255.0 * 255.0 / mse))


def _ssim_y(pred_y, gt_y, protocol):
    if protocol == 'rcdnet':
        # statistic.m calls ssim(Y * 255, Ygt * 255); ssim.m downsamples first.
        pred_y = ssim_2009_downsample(pred_y * 255.0)
        gt_y = ssim_2009_downsample(gt_y * 255.0)
    return float(ssim_map(pred_y, gt_y).mean())


def _crop(y, crop_border):
    return y[crop_border:-crop_border, crop_border:-crop_border] if crop_border else y


def check_channels(channels):
    """Validate a channel convention ('y' or 'rgb'); returns it."""
    if channels not in CHANNELS:
        raise ValueError(f'unknown channel convention {channels!r}; expected one of {CHANNELS} '
                         "('y': the luma channel, as every protocol's MATLAB script; 'rgb': the "
                         'three colour channels)')
    return channels


def _rgb_planes(img, protocol):
    """The three RGB channels as the protocol reads the image: 8-bit values as float64, or
    ``im2double`` values in [0, 1] for ``rcdnet`` (whose PSNR then takes peak 1)."""
    rgb = img.astype(np.float64)
    return rgb / 255.0 if protocol == 'rcdnet' else rgb


def compute_metrics(pred, gt, protocol, crop_border=0, metrics=METRIC_NAMES, names=None,
                    channels='y'):
    """Score an 8-bit result against its ground truth.

    Args:
        pred, gt: ``(H, W, 3)`` RGB uint8 arrays of the same size.
        protocol: 'restormer', 'rcdnet' or 'basicsr'.
        crop_border: pixels removed from each edge (``basicsr`` only).
        metrics: which of 'psnr', 'ssim' to compute.
        names: optional ``(result_name, gt_name)`` used in error messages.
        channels: 'y' (the protocol's luma, its declared convention) or 'rgb': the same
            protocol on the three colour channels, PSNR over all of them (one mean squared
            error) and SSIM as the mean of the three channels' SSIM (the RGB numbers of
            BasicSR's ``test_y_channel=False`` and of Restormer's Python scripts).
    Returns:
        dict ``{'psnr': float, 'ssim': float}`` (the requested keys); PSNR of
        identical images is ``inf``.
    """
    unknown = set(metrics) - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f'unknown metric(s) {sorted(unknown)}; expected some of {METRIC_NAMES}')
    check_channels(channels)
    check_image_pair(pred, gt, protocol, crop_border, names)
    to_planes = rgb_to_y if channels == 'y' else _rgb_planes
    pred_y = _crop(to_planes(pred, protocol), crop_border)
    gt_y = _crop(to_planes(gt, protocol), crop_border)
    out = {}
    if 'psnr' in metrics:
        out['psnr'] = _psnr_y(pred_y, gt_y, protocol)
    if 'ssim' in metrics:
        out['ssim'] = (_ssim_y(pred_y, gt_y, protocol) if channels == 'y' else float(np.mean(
            [_ssim_y(pred_y[..., c], gt_y[..., c], protocol) for c in range(3)])))
    return out


def compute_metrics_from_float(pred, gt, protocol, crop_border=0, metrics=METRIC_NAMES, names=None,
                               quantize='round', channels='y'):
    """:func:`compute_metrics` for ``(H, W, 3)`` float RGB images in [0, 1].

    The prediction is quantised to 8 bits with ``quantize`` ('round' or 'truncate', see
    :func:`quantize_image`); the ground truth, which comes from an 8-bit file, is always
    rounded, which gives that file's values back.
    """
    return compute_metrics(float_to_uint8(pred, quantize), float_to_uint8(gt), protocol,
                           crop_border, metrics, names, channels)


def psnr(pred, gt, protocol, crop_border=0):
    """PSNR (dB) of two ``(H, W, 3)`` RGB uint8 images under ``protocol``; inf if identical."""
    return compute_metrics(pred, gt, protocol, crop_border, metrics=('psnr',))['psnr']


def ssim(pred, gt, protocol, crop_border=0):
    """SSIM of two ``(H, W, 3)`` RGB uint8 images under ``protocol``."""
    return compute_metrics(pred, gt, protocol, crop_border, metrics=('ssim',))['ssim']
