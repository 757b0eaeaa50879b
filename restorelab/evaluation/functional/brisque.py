"""BRISQUE, the no-reference Blind/Referenceless Image Spatial Quality Evaluator (Mittal 2012).

Follows the LIVE release (``brisquescore.m``, ``brisque_feature.m``): the
grey image (MATLAB ``rgb2gray`` of the uint8 RGB image, rounded to uint8) in
[0, 255]; at two scales (the second made by MATLAB ``imresize(img, 0.5)``)
the MSCN coefficients (7x7 Gaussian, sigma 7/6, C = 1, ``filter2 'same'``,
i.e. zero borders) give 18 features: a GGD fit of the coefficients (shape,
variance) and AGGD fits of their products with the horizontal, vertical and
two diagonal neighbours (shape, mean, left and right variance). The release
writes the 36 features as text (``%f``), scales them to [-1, 1] with
``svm-scale -r allrange`` (which writes ``%g``) and predicts the score with
``svm-predict`` and the epsilon-SVR of ``allmodel`` (RBF kernel): both text
roundings are reproduced here. Lower is better (0 best, about 100 worst).

The SVR model and the feature ranges are read from user-supplied files;
scores comparable to papers need the published ones.
"""
import math
import os

import numpy as np

from restorelab.utils.errors import BrisqueParamsError

from .niqe import _GAMMA_GRID, aggd_shape_and_stds, imresize_half, mscn_coefficients, rgb_to_luma

BRISQUE_NUM_FEATURES = 36
# estimateggdparam.m looks the GGD shape up in Gamma(1/a)Gamma(3/a)/Gamma(2/a)^2 on 0.2:0.001:10.
_R_GGD = np.array([math.gamma(1 / a) * math.gamma(3 / a) / math.gamma(2 / a) ** 2
                   for a in _GAMMA_GRID])
# (row, column) shifts of MATLAB circshift for the H, V, D1, D2 neighbour products.
_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
_LIBSVM_NAMES = ('allmodel', 'allrange')
BRISQUE_PARAMS_HELP = (
    'BRISQUE needs the SVR model and feature ranges of the LIVE release: the files allmodel '
    '(libsvm text model) and allrange (svm-scale range file) inside '
    'http://live.ece.utexas.edu/research/quality/BRISQUE_release.zip. Pass the folder holding '
    'both, or the model file (allrange is looked for beside it, or give the range file '
    'explicitly), or an .npz with arrays sv (n, 36), sv_coef (n,), rho, gamma, range_min (36,) '
    'and range_max (36,). OpenCV\'s brisque_model_live.yml/brisque_range_live.yml belong to '
    'OpenCV\'s own feature variant ([0, 1] pixels, replicate borders) and are not accepted')


class BrisqueParams(dict):
    """SVR model and feature scaling: ``sv`` (n, 36), ``sv_coef`` (n,), ``rho``, ``gamma``,
    ``range_min``/``range_max`` (36,), ``lower``/``upper`` (the scaled range, -1 and 1)."""


def _ggd(vec):
    """GGD shape and standard deviation of a flat array, as estimateggdparam.m (NaN if flat)."""
    sigma_sq = np.mean(vec ** 2)
    mean_abs = np.mean(np.abs(vec))
    if mean_abs == 0:
        return math.nan, math.nan
    rho = sigma_sq / mean_abs ** 2
    return _GAMMA_GRID[np.argmin(np.abs(rho - _R_GGD))], math.sqrt(sigma_sq)


def _scale_features(mscn):
    """The 18 features of one scale's MSCN coefficients (brisque_feature.m)."""
    alpha, std = _ggd(mscn.ravel())
    feats = [alpha, std ** 2]
    for shift in _SHIFTS:
        pair = mscn * np.roll(mscn, shift, axis=(0, 1))
        alpha, left_std, right_std = aggd_shape_and_stds(pair.ravel())
        if math.isnan(alpha):
            feats += [math.nan] * 4
            continue
        const = math.sqrt(math.gamma(1 / alpha)) / math.sqrt(math.gamma(3 / alpha))
        mean = (right_std - left_std) * (math.gamma(2 / alpha) / math.gamma(1 / alpha)) * const
        feats += [alpha, mean, left_std ** 2, right_std ** 2]
    return feats


def brisque_features(gray):
    """The 36 BRISQUE features of an ``(H, W)`` grey image in [0, 255] (float64, unrounded).

    NaN marks a feature the image cannot define (a flat image, or one too
    small to have negative and positive neighbour products).
    """
    img = np.asarray(gray, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 1:
        raise ValueError(f'brisque_features expects an (H, W) grey image, got shape {img.shape}')
    feats = _scale_features(mscn_coefficients(img, 'zero'))
    feats += _scale_features(mscn_coefficients(imresize_half(img), 'zero'))
    return np.array(feats)


def _as_text(values, fmt):
    return np.array([float(fmt % v) for v in values])


def scale_features(feats, params):
    """``svm-scale -r``: map each feature from [range_min, range_max] to [lower, upper].

    Values equal to a bound map exactly onto it, values outside are not
    clipped, and a feature whose range is a single value becomes 0 (svm-scale
    drops it from the sparse vector).
    """
    feats = np.asarray(feats, dtype=np.float64)
    lo, hi = params['range_min'], params['range_max']
    lower, upper = params['lower'], params['upper']
    with np.errstate(divide='ignore', invalid='ignore'):
        scaled = lower + (upper - lower) * (feats - lo) / (hi - lo)
    scaled = np.where(feats == lo, lower, np.where(feats == hi, upper, scaled))
    return np.where(hi == lo, 0.0, scaled)


def svr_predict(x, params):
    """SVR prediction, RBF kernel: ``sum_i coef_i exp(-gamma |x - sv_i|^2) - rho``; x is (36,)."""
    dist = np.sum((params['sv'] - np.asarray(x, dtype=np.float64)) ** 2, axis=1)
    return float(np.dot(params['sv_coef'], np.exp(-params['gamma'] * dist)) - params['rho'])


def brisque_from_features(feats, params):
    """Score of 36 features as the release: ``%f`` text, svm-scale (``%g`` text), svm-predict."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.shape != (BRISQUE_NUM_FEATURES,):
        raise ValueError(f'expected {BRISQUE_NUM_FEATURES} BRISQUE features, got shape '
                         f'{feats.shape}')
    bad = np.flatnonzero(~np.isfinite(feats))
    if bad.size:
        raise ValueError(
            f'BRISQUE features {(bad + 1).tolist()} (1-based) are undefined for this image: it is '
            'flat (no local contrast) or too small to have both signs of neighbour products')
    return svr_predict(_as_text(scale_features(_as_text(feats, '%f'), params), '%g'), params)


def brisque(img, params, convert_to='gray', crop_border=0):
    """BRISQUE of an ``(H, W, 3)`` RGB uint8 image (lower is better).

    Args:
        params: from :func:`load_brisque_params`.
        convert_to: 'gray' (MATLAB rgb2gray, what brisquescore.m applies to
            RGB input) or 'y' (rgb2ycbcr's luma, as pyiqa does).
        crop_border: pixels removed from each edge before scoring.
    """
    gray = rgb_to_luma(img, convert_to)
    if crop_border:
        gray = gray[crop_border:-crop_border, crop_border:-crop_border]
    return brisque_from_features(brisque_features(gray), params)


# ----------------------------------------------------------------------------- parameters files

def _fail(path, what):
    raise BrisqueParamsError(f'BRISQUE parameters file {path!r}: {what}. {BRISQUE_PARAMS_HELP}')


def read_libsvm_model(path):
    """Read a libsvm text model of an RBF epsilon/nu-SVR: ``dict(sv, sv_coef, rho, gamma)``."""
    with open(path, encoding='ascii', errors='replace') as f:
        lines = f.read().splitlines()
    header, row = {}, 0
    while row < len(lines) and lines[row].strip() != 'SV':
        parts = lines[row].split()
        if parts:
            header[parts[0]] = parts[1:]
        row += 1
    if row == len(lines):
        _fail(path, 'not a libsvm text model (no "SV" line)')
    svm_type = (header.get('svm_type') or ['?'])[0]
    if svm_type not in ('epsilon_svr', 'nu_svr'):
        _fail(path, f'svm_type is {svm_type!r}; BRISQUE needs a regression model (epsilon_svr)')
    kernel = (header.get('kernel_type') or ['?'])[0]
    if kernel != 'rbf':
        _fail(path, f'kernel_type is {kernel!r}; the BRISQUE model uses rbf')
    try:
        gamma, rho = float(header['gamma'][0]), float(header['rho'][0])
        total = int(header['total_sv'][0])
    except (KeyError, IndexError, ValueError):
        _fail(path, 'the header needs numeric gamma, rho and total_sv lines')
    coefs, svs = [], []
    for number, line in enumerate(lines[row + 1:], start=row + 2):
        parts = line.split()
        if not parts:
            continue
        sv = np.zeros(BRISQUE_NUM_FEATURES)
        try:
            coefs.append(float(parts[0]))
            for item in parts[1:]:
                index, value = item.split(':')
                index = int(index)
                if not 1 <= index <= BRISQUE_NUM_FEATURES:
                    _fail(path, f'line {number}: feature index {index} outside 1..'
                                f'{BRISQUE_NUM_FEATURES}')
                sv[index - 1] = float(value)
        except BrisqueParamsError:
            raise
        except ValueError:
            _fail(path, f'line {number}: expected "coef index:value ...", got {line[:60]!r}')
        svs.append(sv)
    if len(svs) != total or total == 0:
        _fail(path, f'total_sv says {total} support vectors, the file holds {len(svs)}')
    return dict(sv=np.array(svs), sv_coef=np.array(coefs), rho=rho, gamma=gamma)


def read_range_file(path):
    """Read an ``svm-scale -s`` range file: ``dict(range_min, range_max, lower, upper)``."""
    with open(path, encoding='ascii', errors='replace') as f:
        lines = [ln.split() for ln in f.read().splitlines() if ln.strip()]
    if lines and lines[0] == ['y']:  # target scaling (not used by BRISQUE) comes first
        lines = lines[3:]
    if not lines or lines[0] != ['x'] or len(lines) < 2:
        _fail(path, 'not an svm-scale range file (expected an "x" line, then "lower upper", '
                    'then "index min max" lines)')
    lo, hi = np.full(BRISQUE_NUM_FEATURES, np.nan), np.full(BRISQUE_NUM_FEATURES, np.nan)
    try:
        lower, upper = (float(v) for v in lines[1])
        for parts in lines[2:]:
            index, vmin, vmax = int(parts[0]), float(parts[1]), float(parts[2])
            if not 1 <= index <= BRISQUE_NUM_FEATURES:
                _fail(path, f'feature index {index} outside 1..{BRISQUE_NUM_FEATURES}')
            lo[index - 1], hi[index - 1] = vmin, vmax
    except BrisqueParamsError:
        raise
    except (ValueError, IndexError):
        _fail(path, 'expected "lower upper" then "index min max" lines of numbers')
    missing = np.flatnonzero(np.isnan(lo)) + 1
    if missing.size:
        _fail(path, f'no range for feature(s) {missing.tolist()}')
    return dict(range_min=lo, range_max=hi, lower=lower, upper=upper)


def _load_npz(path):
    data = dict(np.load(path))
    need = ('sv', 'sv_coef', 'rho', 'gamma', 'range_min', 'range_max')
    missing = [k for k in need if k not in data]
    if missing:
        _fail(path, f'missing array(s) {missing}; found {sorted(data)}')
    params = dict(sv=np.asarray(data['sv'], np.float64),
                  sv_coef=np.asarray(data['sv_coef'], np.float64).reshape(-1),
                  rho=float(data['rho']), gamma=float(data['gamma']),
                  range_min=np.asarray(data['range_min'], np.float64).reshape(-1),
                  range_max=np.asarray(data['range_max'], np.float64).reshape(-1),
                  lower=float(data.get('lower', -1.0)), upper=float(data.get('upper', 1.0)))
    n = len(params['sv_coef'])
    if params['sv'].shape != (n, BRISQUE_NUM_FEATURES) or n == 0 or \
            params['range_min'].shape != (BRISQUE_NUM_FEATURES,) or \
            params['range_max'].shape != (BRISQUE_NUM_FEATURES,):
        _fail(path, f'shapes sv {params["sv"].shape}, sv_coef ({n},), range_min '
                    f'{params["range_min"].shape}, range_max {params["range_max"].shape}; expected '
                    f'(n, {BRISQUE_NUM_FEATURES}), (n,), ({BRISQUE_NUM_FEATURES},), '
                    f'({BRISQUE_NUM_FEATURES},)')
    return params


def load_brisque_params(path, range_file=None):
    """Read the SVR model and feature ranges; returns a :class:`BrisqueParams`.

    Args:
        path: an ``.npz`` (see ``BRISQUE_PARAMS_HELP``), the libsvm text model
            (``allmodel``), or a folder holding ``allmodel`` and ``allrange``.
        range_file: the svm-scale range file; by default ``allrange`` beside
            the model. Not used with an ``.npz``.
    """
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(f'BRISQUE parameters {path!r} not found. {BRISQUE_PARAMS_HELP}')
    if os.path.isdir(path):
        path = os.path.join(path, _LIBSVM_NAMES[0])
        if not os.path.isfile(path):
            raise FileNotFoundError(f'BRISQUE model {path!r} not found. {BRISQUE_PARAMS_HELP}')
    ext = os.path.splitext(path)[1].lower()
    if ext in ('.yml', '.yaml', '.xml'):
        _fail(path, 'OpenCV model files are not supported')
    if ext == '.npz':
        if range_file is not None:
            _fail(path, 'an .npz holds the ranges itself; give no separate range file')
        params = _load_npz(path)
    else:
        params = read_libsvm_model(path)
        if range_file is None:
            range_file = os.path.join(os.path.dirname(path), _LIBSVM_NAMES[1])
        if not os.path.isfile(range_file):
            raise FileNotFoundError(f'BRISQUE range file {range_file!r} not found (needed with the '
                                    f'model {path!r}). {BRISQUE_PARAMS_HELP}')
        params.update(read_range_file(range_file))
    if not params['upper'] > params['lower'] or np.any(params['range_max'] < params['range_min']):
        _fail(range_file or path, 'the ranges need lower < upper and min <= max per feature')
    return BrisqueParams(params)


def fit_brisque_params(features, scores, gamma=0.05, ridge=1e-3):
    """Fit a model to ``(n, 36)`` features and ``(n,)`` scores (tests and custom models).

    Ranges are the features' min and max; the regressor is kernel ridge
    regression with the RBF kernel (a least-squares SVR: every sample is a
    support vector, ``rho`` is minus the mean score), which libsvm's
    format stores as it stores an SVR.
    """
    features = np.asarray(features, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    params = dict(range_min=features.min(axis=0), range_max=features.max(axis=0),
                  lower=-1.0, upper=1.0, gamma=float(gamma), rho=-float(scores.mean()))
    x = scale_features(features, params)
    kernel = np.exp(-gamma * np.sum((x[:, None] - x[None]) ** 2, axis=2))
    coef = np.linalg.solve(kernel + ridge * np.eye(len(x)), scores - scores.mean())
    return BrisqueParams(params, sv=x, sv_coef=coef)


def write_libsvm_files(params, model_path, range_path):
    """Write ``params`` as a libsvm text model and an svm-scale range file (full precision)."""
    with open(model_path, 'w') as f:
        f.write(f'svm_type epsilon_svr\nkernel_type rbf\ngamma {float(params["gamma"])!r}\n'
                f'nr_class 2\ntotal_sv {len(params["sv_coef"])}\n'
                f'rho {float(params["rho"])!r}\nSV\n')
        for coef, sv in zip(params['sv_coef'], params['sv']):
            items = ' '.join(f'{i + 1}:{float(v)!r}' for i, v in enumerate(sv) if v != 0)
            f.write(f'{float(coef)!r} {items}\n')
    with open(range_path, 'w') as f:
        f.write(f'x\n{float(params["lower"])!r} {float(params["upper"])!r}\n')
        for i, (lo, hi) in enumerate(zip(params['range_min'], params['range_max'])):
            f.write(f'{i + 1} {float(lo)!r} {float(hi)!r}\n')
