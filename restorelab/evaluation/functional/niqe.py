"""NIQE, the no-reference "Natural Image Quality Evaluator" (Mittal et al., 2013).

Follows the official MATLAB release (``computequality.m``): luma in [0, 255],
96x96 blocks without overlap at two scales, 18 NSS features per block and
scale (AGGD fits of the MSCN coefficients and of their products with four
neighbours), the second scale made by MATLAB ``imresize(img, 0.5)`` (bicubic
with antialiasing, implemented here), and the distance between the image's
multivariate Gaussian and the pristine one. The pristine model (``mu``, 36;
``cov``, 36x36) is read from a user-supplied parameters file; numbers
comparable to papers need the published parameters.
"""
import math
import os

import numpy as np

from .psnr_ssim import rgb_to_y

NIQE_BLOCK = 96
NIQE_NUM_FEATURES = 36
NIQE_PARAMS_HELP = (
    'NIQE needs the pristine model of the official release: modelparameters.mat from '
    'http://live.ece.utexas.edu/research/quality/niqe_release.zip (variables mu_prisparam, '
    'cov_prisparam), or an .npz file with arrays mu_pris_param (36,) and cov_pris_param (36, 36) '
    '(the layout of BasicSR\'s niqe_pris_params.npz)')

# The AGGD shape is looked up on MATLAB's grid 0.2:0.001:10.
_GAMMA_GRID = 0.2 + 0.001 * np.arange(9801)
_R_GAMMA = np.array([math.gamma(2 / a) ** 2 / (math.gamma(1 / a) * math.gamma(3 / a))
                     for a in _GAMMA_GRID])


def _gaussian_1d(size, sigma):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def _filter_same(img, g, border):
    """Filter an ``(H, W)`` image with ``outer(g, g)`` (odd-length symmetric ``g``), same size.

    ``border='replicate'`` is ``imfilter(img, w, 'replicate')`` (NIQE);
    ``border='zero'`` is ``filter2(w, img, 'same')`` (BRISQUE).
    """
    r = len(g) // 2
    padded = np.pad(img, r, mode={'replicate': 'edge', 'zero': 'constant'}[border])
    h, w = img.shape
    rows = sum(g[i] * padded[i:i + h, :] for i in range(len(g)))
    return sum(g[j] * rows[:, j:j + w] for j in range(len(g)))


def mscn_coefficients(img, border):
    """MSCN coefficients ``(I - mu) / (sigma + 1)`` of an ``(H, W)`` float64 image in [0, 255].

    ``mu`` and ``sigma`` are local Gaussian-weighted (7x7, sigma 7/6) mean and
    standard deviation, as in the NIQE and BRISQUE releases; ``border`` as in
    :func:`_filter_same`.
    """
    window = _gaussian_1d(7, 7 / 6)
    mu = _filter_same(img, window, border)
    sigma = np.sqrt(np.abs(_filter_same(img * img, window, border) - mu * mu))
    return (img - mu) / (sigma + 1)


def _cubic(x):
    ax = np.abs(x)
    return ((1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1)
            + (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _resize_weights(in_len, scale):
    """Weights and source indices of MATLAB imresize (bicubic, antialiasing) along one axis."""
    out_len = math.ceil(in_len * scale)
    width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    weights = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    # Out-of-range taps mirror back into the image (MATLAB's symmetric extension).
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], idx[:, keep]


def imresize_half(img):
    """MATLAB ``imresize(img, 0.5)`` of an ``(H, W)`` float64 image (bicubic, antialiased)."""
    out = img
    for axis in (0, 1):  # equal scales: MATLAB resizes rows first
        weights, idx = _resize_weights(out.shape[axis], 0.5)
        moved = np.moveaxis(out, axis, 0)
        res = np.einsum('ok,ok...->o...', weights, moved[idx])
        out = np.moveaxis(res, 0, axis)
    return out


def aggd_shape_and_stds(vec):
    """AGGD fit of a flat array: ``(alpha, left_std, right_std)``, NaN when undefined.

    The shape ``alpha`` is looked up on the grid (estimateaggdparam.m of the
    NIQE and BRISQUE releases); the stds are the root mean squares of the
    negative and positive values.
    """
    left_std = math.sqrt(np.mean(vec[vec < 0] ** 2)) if np.any(vec < 0) else math.nan
    right_std = math.sqrt(np.mean(vec[vec > 0] ** 2)) if np.any(vec > 0) else math.nan
    gammahat = left_std / right_std if right_std else math.nan
    rhat = np.mean(np.abs(vec)) ** 2 / np.mean(vec ** 2) if np.any(vec) else math.nan
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    if math.isnan(rhatnorm):
        return math.nan, math.nan, math.nan
    return _GAMMA_GRID[np.argmin((_R_GAMMA - rhatnorm) ** 2)], left_std, right_std


def _aggd(vec):
    """AGGD (alpha, beta_left, beta_right) of a flat array, as NIQE's estimateaggdparam.m."""
    alpha, left_std, right_std = aggd_shape_and_stds(vec)
    if math.isnan(alpha):
        return math.nan, math.nan, math.nan
    factor = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, left_std * factor, right_std * factor


def _block_features(block):
    """The 18 features of one block of MSCN coefficients (computefeature.m)."""
    alpha, bl, br = _aggd(block.ravel())
    feat = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        pair = block * np.roll(block, shift, axis=(0, 1))
        alpha, bl, br = _aggd(pair.ravel())
        mean = (br - bl) * math.gamma(2 / alpha) / math.gamma(1 / alpha) \
            if not math.isnan(alpha) else math.nan
        feat += [alpha, mean, bl, br]
    return feat


def niqe_features(gray, block=NIQE_BLOCK):
    """Per-block NIQE features of an ``(H, W)`` luma image in [0, 255]: ``(blocks, 36)``."""
    gray = np.asarray(gray, dtype=np.float64)
    h, w = gray.shape
    nh, nw = h // block, w // block
    if nh == 0 or nw == 0:
        raise ValueError(f'NIQE needs an image of at least {block}x{block} pixels, got {h}x{w}')
    img = gray[:nh * block, :nw * block]
    scales = []
    for scale in (1, 2):
        mscn = mscn_coefficients(img, 'replicate')
        b = block // scale
        scales.append([_block_features(mscn[i * b:(i + 1) * b, j * b:(j + 1) * b])
                       for j in range(nw) for i in range(nh)])
        if scale == 1:
            img = imresize_half(img)
    return np.concatenate([np.array(s) for s in scales], axis=1)


def _nan_rows_dropped(feats):
    return feats[~np.isnan(feats).any(axis=1)]


def niqe_from_features(feats, mu_pris, cov_pris):
    """NIQE distance between the features' Gaussian and the pristine one (Eq. 10)."""
    mu = np.nanmean(feats, axis=0)
    rows = _nan_rows_dropped(feats)
    cov = np.cov(rows, rowvar=False) if len(rows) > 1 else np.zeros_like(cov_pris)
    diff = mu_pris - mu
    return float(np.sqrt(diff @ np.linalg.pinv((cov_pris + cov) / 2) @ diff))


def rgb_to_luma(img, convert_to='y'):
    """Luma in [0, 255] of an ``(H, W, 3)`` RGB uint8 image, rounded as MATLAB's uint8 output.

    ``'y'``: rgb2ycbcr's Y (BasicSR's default for NIQE); ``'gray'``: rgb2gray
    (what MATLAB's own ``niqe`` and the BRISQUE release use on RGB input).
    """
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 \
            or img.shape[2] != 3:
        raise TypeError(f'expected an (H, W, 3) uint8 RGB image, got {getattr(img, "shape", img)} '
                        f'{getattr(img, "dtype", "")}')
    if convert_to == 'y':
        return rgb_to_y(img, 'restormer')
    if convert_to == 'gray':
        gray = img.astype(np.float64) @ [0.298936021293775, 0.587043074451121, 0.114020904255103]
        return np.floor(gray + 0.5)
    raise ValueError(f"convert_to must be 'y' or 'gray', got {convert_to!r}")


luma_for_niqe = rgb_to_luma


def load_niqe_params(path):
    """Read the pristine model: returns ``(mu (36,), cov (36, 36))`` float64.

    Accepts the official ``modelparameters.mat`` (``mu_prisparam``,
    ``cov_prisparam``; read with scipy.io) or an ``.npz`` with
    ``mu_pris_param``/``cov_pris_param`` (or the .mat names).
    """
    if path is None or not os.path.isfile(path):
        raise FileNotFoundError(f'NIQE parameters file {path!r} not found. {NIQE_PARAMS_HELP}')
    ext = os.path.splitext(path)[1].lower()
    if ext == '.mat':
        try:
            from scipy.io import loadmat  # scipy comes with scikit-image
        except ImportError as err:  # pragma: no cover - scipy is installed with scikit-image
            raise ImportError(f'reading {path!r} needs scipy; convert it to .npz '
                              '(mu_pris_param, cov_pris_param) or install scipy') from err
        data = loadmat(path)
    elif ext == '.npz':
        data = dict(np.load(path))
    else:
        raise ValueError(f'NIQE parameters file {path!r} must be .mat or .npz. {NIQE_PARAMS_HELP}')
    found = {}
    for name, keys in (('mu', ('mu_pris_param', 'mu_prisparam')),
                       ('cov', ('cov_pris_param', 'cov_prisparam'))):
        key = next((k for k in keys if k in data), None)
        if key is None:
            raise ValueError(f'NIQE parameters file {path!r} has no {" or ".join(keys)}; found '
                           f'{sorted(k for k in data if not k.startswith("__"))}. {NIQE_PARAMS_HELP}')
        found[name] = np.asarray(data[key], dtype=np.float64)
    mu, cov = found['mu'].reshape(-1), found['cov']
    if mu.shape != (NIQE_NUM_FEATURES,) or cov.shape != (NIQE_NUM_FEATURES, NIQE_NUM_FEATURES):
        raise ValueError(f'NIQE parameters in {path!r} have shapes {mu.shape}, {cov.shape}; '
                         f'expected ({NIQE_NUM_FEATURES},) and '
                         f'({NIQE_NUM_FEATURES}, {NIQE_NUM_FEATURES})')
    return mu, cov


def fit_niqe_params(images, convert_to='y'):
    """Fit a pristine model ``(mu, cov)`` to RGB uint8 images, every block used.

    The official model was fitted on 125 pristine photos keeping only sharp
    blocks; this simpler fit serves tests and custom models.
    """
    feats = np.concatenate([niqe_features(luma_for_niqe(img, convert_to)) for img in images])
    rows = _nan_rows_dropped(feats)
    return rows.mean(axis=0), np.cov(rows, rowvar=False)


def niqe(img, mu_pris, cov_pris, convert_to='y', crop_border=0):
    """NIQE of an ``(H, W, 3)`` RGB uint8 image (lower is more natural)."""
    gray = luma_for_niqe(img, convert_to)
    if crop_border:
        gray = gray[crop_border:-crop_border, crop_border:-crop_border]
    return niqe_from_features(niqe_features(gray), mu_pris, cov_pris)
