"""BRISQUE: features, parameters files, SVR prediction, the metric, eval_images --no-reference."""
import importlib.util
import json
import math

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from scipy import ndimage, special
from skimage import data

from restorelab.evaluation.functional import float_to_uint8
from restorelab.evaluation.functional.brisque import (BrisqueParamsError, brisque,
                                                      brisque_features, brisque_from_features,
                                                      fit_brisque_params, load_brisque_params,
                                                      scale_features, svr_predict,
                                                      write_libsvm_files)
from restorelab.evaluation.functional.niqe import imresize_half, rgb_to_luma
from restorelab.structures.data_sample import DataSample
from restorelab.utils.image_io import imwrite_rgb

GRID = 0.2 + 0.001 * np.arange(9801)


def _noisy(img, sigma, seed=1):
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _blurred(img, sigma):
    return cv2.GaussianBlur(img, (0, 0), sigma)


@pytest.fixture(scope='module')
def fitted(tmp_path_factory):
    """A model fitted on clean (score 0), noisy and blurred (25, 60) crops of three photos,
    written as a libsvm model + range file pair in the layout of the LIVE release."""
    crops = [data.astronaut()[100:292, 150:342], data.coffee()[50:242, 100:292],
             data.chelsea()[20:212, 100:292]]
    feats, scores = [], []
    for img in crops:
        for variant, score in ((img, 0), (_noisy(img, 10), 25), (_noisy(img, 25), 60),
                               (_blurred(img, 1.5), 25), (_blurred(img, 3), 60)):
            feats.append(brisque_features(rgb_to_luma(variant, 'gray')))
            scores.append(score)
    params = fit_brisque_params(feats, scores)
    folder = tmp_path_factory.mktemp('brisque_release')
    write_libsvm_files(params, folder / 'allmodel', folder / 'allrange')
    return params, folder


def _direct_features(gray, border='constant'):
    """brisque_feature.m written out with scipy, explicit neighbour indices and brute force."""
    x = np.arange(7) - 3.0
    window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (7 / 6) ** 2))
    window /= window.sum()
    r_ggd = special.gamma(1 / GRID) * special.gamma(3 / GRID) / special.gamma(2 / GRID) ** 2
    r_aggd = special.gamma(2 / GRID) ** 2 / (special.gamma(1 / GRID) * special.gamma(3 / GRID))
    feats, img = [], gray.astype(np.float64)
    for _ in range(2):
        mu = ndimage.correlate(img, window, mode=border, cval=0.0)
        sigma = np.sqrt(np.abs(ndimage.correlate(img * img, window, mode=border) - mu * mu))
        m = (img - mu) / (sigma + 1)
        rho = np.mean(m ** 2) / np.mean(np.abs(m)) ** 2
        feats += [GRID[np.argmin(np.abs(rho - r_ggd))], np.mean(m ** 2)]
        h, w = m.shape
        rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
        for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1)):
            # circshift(m, [dr dc]) holds at (i, j) the value of m at (i - dr, j - dc).
            pair = (m * m[(rows - dr) % h, (cols - dc) % w]).ravel()
            lstd = math.sqrt(np.mean(pair[pair < 0] ** 2))
            rstd = math.sqrt(np.mean(pair[pair > 0] ** 2))
            g = lstd / rstd
            rhat = np.mean(np.abs(pair)) ** 2 / np.mean(pair ** 2)
            rnorm = rhat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
            a = GRID[np.argmin((r_aggd - rnorm) ** 2)]
            mean = (rstd - lstd) * special.gamma(2 / a) / special.gamma(1 / a) * math.sqrt(
                special.gamma(1 / a) / special.gamma(3 / a))
            feats += [a, mean, lstd ** 2, rstd ** 2]
        img = imresize_half(img)
    return np.array(feats)


def test_features_match_a_direct_computation():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:23, 0:30]
    gray = np.round(120 + 60 * np.sin(xx / 3.0) * np.cos(yy / 5.0)
                    + rng.normal(0, 12, (23, 30))).clip(0, 255)
    ours = brisque_features(gray)
    assert ours.shape == (36,)
    np.testing.assert_allclose(ours, _direct_features(gray), rtol=1e-11, atol=1e-14)
    # Borders are zero-padded (filter2 'same'), not replicated as in NIQE: it shows here.
    assert np.abs(ours - _direct_features(gray, 'nearest')).max() > 1e-3


def test_noise_and_blur_move_the_mscn_shape_both_ways():
    clean = data.rocket()[100:292, 100:292]
    shapes = {name: brisque_features(rgb_to_luma(img, 'gray'))[[0, 18]] for name, img in (
        ('clean', clean), ('noisy', _noisy(clean, 15)), ('blurred', _blurred(clean, 2)))}
    # Noise makes the MSCN histogram Gaussian-like (shape up), blur makes it peaky (shape down).
    assert np.all(shapes['noisy'] > shapes['clean'] + 0.5)
    assert np.all(shapes['blurred'] < shapes['clean'] - 0.1)


def test_distortions_raise_brisque_under_a_fitted_model(fitted):
    params, folder = fitted
    loaded = load_brisque_params(str(folder))
    for key in ('sv', 'sv_coef', 'range_min', 'range_max'):
        np.testing.assert_array_equal(loaded[key], params[key])
    assert (loaded['rho'], loaded['gamma'], loaded['lower'], loaded['upper']) == (
        params['rho'], params['gamma'], -1.0, 1.0)
    clean = data.rocket()[100:292, 100:292]  # not in the training set
    base = brisque(clean, loaded)
    assert brisque(_noisy(clean, 15), loaded) > base + 10
    assert brisque(_blurred(clean, 2), loaded) > base + 5


MODEL_TEXT = """svm_type epsilon_svr
kernel_type rbf
gamma 0.5
nr_class 2
total_sv 3
rho 0.25
probA 3.5
SV
2 1:1 3:-1
-1.5 2:0.5
0.75 36:2
"""


def _range_text(rows=None, y_section=False):
    rows = rows or {}
    lines = ['y', '0 1', '3 90'] if y_section else []
    lines += ['x', '-1 1'] + [f'{i} {" ".join(map(str, rows.get(i, (0, 1))))}'
                              for i in range(1, 37)]
    return '\n'.join(lines) + '\n'


@pytest.fixture
def tiny_model(tmp_path):
    (tmp_path / 'allmodel').write_text(MODEL_TEXT)
    (tmp_path / 'allrange').write_text(_range_text())
    return tmp_path


def test_svr_prediction_is_the_kernel_sum_minus_rho(tiny_model):
    params = load_brisque_params(str(tiny_model / 'allmodel'))
    assert params['sv'].shape == (3, 36) and params['gamma'] == 0.5 and params['rho'] == 0.25
    x = np.zeros(36)
    x[0], x[1] = 1.0, 0.5
    # Squared distances to the support vectors: 0.25 + 1 = 1.25; 1; 1 + 0.25 + 4 = 5.25.
    expected = 2 * math.exp(-0.625) - 1.5 * math.exp(-0.5) + 0.75 * math.exp(-2.625) - 0.25
    assert svr_predict(x, params) == pytest.approx(expected, abs=1e-14)


def test_range_file_scaling_as_svm_scale(tmp_path, tiny_model):
    rng_file = tmp_path / 'ranges.txt'
    rng_file.write_text(_range_text({1: (0, 10), 2: (-2, 2), 3: (5, 5)}, y_section=True))
    params = load_brisque_params(str(tiny_model / 'allmodel'), str(rng_file))
    feats = np.full(36, 0.25)
    feats[:3] = [2.5, 3.0, 7.0]
    scaled = scale_features(feats, params)
    assert scaled[0] == -0.5             # -1 + 2 * (2.5 - 0) / 10
    assert scaled[1] == 1.5              # -1 + 2 * (3 + 2) / 4: outside, not clipped
    assert scaled[2] == 0.0              # single-valued feature: dropped by svm-scale
    assert np.all(scaled[3:] == -0.5)
    feats[0], feats[1] = 0.0, 2.0
    assert list(scale_features(feats, params)[:2]) == [-1.0, 1.0]  # bounds map exactly


def test_score_goes_through_the_release_text_roundings(tiny_model):
    params = load_brisque_params(str(tiny_model))
    feats = np.full(36, 0.25)
    feats[0] = 0.7500004        # written as 0.750000 by brisquescore.m's %f
    feats[1] = 0.1234567891     # scaled to -0.753086421..., written as -0.753086 by svm-scale
    text = feats.copy()
    text[0], text[1] = 0.75, 0.123457
    x = scale_features(text, params)
    x[1] = -0.753086
    assert brisque_from_features(feats, params) == pytest.approx(svr_predict(x, params),
                                                                 abs=1e-15)
    assert brisque_from_features(feats, params) != svr_predict(scale_features(feats, params),
                                                               params)


def test_flat_image_is_refused_clearly(tiny_model):
    params = load_brisque_params(str(tiny_model))
    # Zero borders give a flat image MSCN coefficients at its edges, but no negative products.
    with pytest.raises(ValueError, match=r'features \[3, 4, .*\] \(1-based\) are undefined'):
        brisque(np.full((40, 40, 3), 90, np.uint8), params)


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_bad_parameters_files_are_refused_clearly(tmp_path, tiny_model):
    with pytest.raises(FileNotFoundError, match='BRISQUE_release.zip'):
        load_brisque_params(str(tmp_path / 'absent'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty/allmodel' not found"):
        load_brisque_params(str(empty))
    lone = tmp_path / 'lone'
    lone.mkdir()
    with pytest.raises(FileNotFoundError, match=r"range file .*lone/allrange' not found"):
        load_brisque_params(_write(lone / 'allmodel', MODEL_TEXT))
    rng = str(tiny_model / 'allrange')
    bad_models = {
        'svc': (MODEL_TEXT.replace('epsilon_svr', 'c_svc'), "svm_type is 'c_svc'"),
        'linear': (MODEL_TEXT.replace('rbf', 'linear'), "kernel_type is 'linear'"),
        'count': (MODEL_TEXT.replace('total_sv 3', 'total_sv 4'), 'total_sv says 4 .* holds 3'),
        'index': (MODEL_TEXT.replace('36:2', '37:2'), 'line 11: feature index 37'),
        'garbage': (MODEL_TEXT.replace('2 1:1', '2 1=1'), 'line 9: expected "coef index:value'),
        'nosv': (MODEL_TEXT.split('SV\n')[0], 'no "SV" line'),
        'nogamma': (MODEL_TEXT.replace('gamma 0.5\n', ''), 'numeric gamma, rho and total_sv'),
    }
    for name, (text, message) in bad_models.items():
        with pytest.raises(BrisqueParamsError, match=message):
            load_brisque_params(_write(tmp_path / name, text), rng)
    model = str(tiny_model / 'allmodel')
    short = _range_text().replace('36 0 1\n', '')
    with pytest.raises(BrisqueParamsError, match=r'no range for feature\(s\) \[36\]'):
        load_brisque_params(model, _write(tmp_path / 'short_range', short))
    with pytest.raises(BrisqueParamsError, match='not an svm-scale range file'):
        load_brisque_params(model, _write(tmp_path / 'not_range', '1 0 1\n'))
    with pytest.raises(BrisqueParamsError, match='min <= max'):
        load_brisque_params(model, _write(tmp_path / 'flipped', _range_text({4: (1, 0)})))
    with pytest.raises(BrisqueParamsError, match='OpenCV model files are not supported'):
        load_brisque_params(_write(tmp_path / 'brisque_model_live.yml', '%YAML:1.0\n'))
    np.savez(tmp_path / 'partial.npz', sv=np.zeros((2, 36)), sv_coef=np.ones(2))
    with pytest.raises(BrisqueParamsError, match=r"missing array\(s\) \['rho', 'gamma', "):
        load_brisque_params(str(tmp_path / 'partial.npz'))
    np.savez(tmp_path / 'shapes.npz', sv=np.zeros((2, 18)), sv_coef=np.ones(2), rho=0.0,
             gamma=0.1, range_min=np.zeros(36), range_max=np.ones(36))
    with pytest.raises(BrisqueParamsError, match=r'shapes sv \(2, 18\).*expected \(n, 36\)'):
        load_brisque_params(str(tmp_path / 'shapes.npz'))


def test_npz_parameters_give_the_libsvm_files_score(fitted, tmp_path):
    params, folder = fitted
    npz = tmp_path / 'brisque.npz'
    np.savez(npz, **{k: params[k] for k in ('sv', 'sv_coef', 'rho', 'gamma', 'range_min',
                                             'range_max')})
    img = data.coffee()[200:330, 300:460]
    assert brisque(img, load_brisque_params(str(npz))) == brisque(
        img, load_brisque_params(str(folder)))


def test_brisque_metric_through_the_evaluator(fitted):
    params, folder = fitted
    init_default_scope('restorelab')
    evaluator = Evaluator(dict(type='BRISQUE', params_file=str(folder), prefix='RealRain'))
    crops = [data.rocket()[100:228, 100:260], data.coffee()[200:330, 300:460]]
    imgs = [torch.from_numpy(im.transpose(2, 0, 1).astype(np.float32) / 255) for im in crops]
    evaluator.process([DataSample(pred_img=im, metainfo=dict(key=f'r{i}'))
                       for i, im in enumerate(imgs)])
    expected = np.mean([brisque(float_to_uint8(im.numpy().transpose(1, 2, 0)), params)
                        for im in imgs])
    assert evaluator.evaluate(2) == {'RealRain/BRISQUE': pytest.approx(expected, abs=1e-12)}
    # quantize='truncate' scores np.uint8(255 * pred), as the PReNet-era scripts save.
    shifted = [(im + 0.7 / 255).clamp(0, 1) for im in imgs]
    values = {}
    for mode in ('round', 'truncate'):
        evaluator = Evaluator(dict(type='BRISQUE', params_file=str(folder), quantize=mode))
        evaluator.process([DataSample(pred_img=im, metainfo=dict(key=f's{i}'))
                           for i, im in enumerate(shifted)])
        values[mode] = evaluator.evaluate(2)['BRISQUE']
    truncated = [np.uint8(255 * im.numpy().transpose(1, 2, 0)) for im in shifted]
    assert values['truncate'] == pytest.approx(np.mean([brisque(t, params) for t in truncated]),
                                               abs=1e-12)
    assert values['truncate'] != values['round']
    flat = DataSample(pred_img=torch.full((3, 32, 32), 0.5), metainfo=dict(key='flat_one'))
    with pytest.raises(ValueError, match="BRISQUE: sample 'flat_one': BRISQUE features"):
        evaluator.process([flat])


def _tool(repo_root):
    spec = importlib.util.spec_from_file_location('eval_images_brisque',
                                                  repo_root / 'tools' / 'eval_images.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_eval_images_no_reference_brisque(repo_root, fitted, tmp_path, capsys):
    params, folder = fitted
    tool = _tool(repo_root)
    crops = [data.rocket()[100:228, 100:260], data.coffee()[200:330, 300:460]]
    real = tmp_path / 'real'
    for i, im in enumerate(crops):
        imwrite_rgb(real / f'{i}.png', im)
    out = tmp_path / 'brisque.json'
    assert tool.main([str(real), '--no-reference', '--brisque-params', str(folder / 'allmodel'),
                      '--out', str(out), '--no-progress']) == 0
    report = json.loads(out.read_text())
    assert [r['key'] for r in report['images']] == ['0', '1']
    assert report['images'][1]['BRISQUE'] == pytest.approx(brisque(crops[1], params), abs=1e-12)
    assert list(report['mean']) == ['BRISQUE']
    assert 'BRISQUE' in capsys.readouterr().out
    # A flat image stops the run (naming it) unless --skip-bad.
    imwrite_rgb(real / '2_flat.png', np.full((64, 64, 3), 128, np.uint8))
    assert tool.main([str(real), '--no-reference', '--brisque-params', str(folder),
                      '--no-progress']) == 2
    err = capsys.readouterr().err
    assert '2_flat.png' in err and 'flat' in err and '--skip-bad' in err
    assert tool.main([str(real), '--no-reference', '--brisque-params', str(folder),
                      '--skip-bad', '--no-progress']) == 0
    assert 'skipped' in capsys.readouterr().out
    assert tool.main([str(real), '--no-reference', '--brisque-params',
                      str(tmp_path / 'nowhere'), '--no-progress']) == 2
    assert 'BRISQUE_release.zip' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([str(real), '--no-reference', '--brisque-range', str(folder / 'allrange')])


def test_eval_images_scores_niqe_and_brisque_together(repo_root, fitted, tmp_path):
    from restorelab.evaluation.functional.niqe import fit_niqe_params, niqe
    params, folder = fitted
    img = data.astronaut()[100:292, 150:342]
    mu, cov = fit_niqe_params([img, data.coffee()[50:242, 100:292]])
    niqe_file = tmp_path / 'niqe.npz'
    np.savez(niqe_file, mu_pris_param=mu, cov_pris_param=cov)
    imwrite_rgb(tmp_path / 'real' / 'a.png', img)
    out = tmp_path / 'both.csv'
    assert _tool(repo_root).main([str(tmp_path / 'real'), '--no-reference', '--niqe-params',
                                  str(niqe_file), '--brisque-params', str(folder), '--out',
                                  str(out), '--no-progress']) == 0
    header, row = out.read_text().splitlines()[:2]
    assert header == 'key,result,gt,NIQE,BRISQUE,note'
    values = row.split(',')
    assert float(values[3]) == pytest.approx(niqe(img, mu, cov), abs=1e-12)
    assert float(values[4]) == pytest.approx(brisque(img, params), abs=1e-12)
