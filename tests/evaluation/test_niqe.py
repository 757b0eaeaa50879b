"""NIQE: its building blocks, parameters files, the metric and eval_images --no-reference."""
import importlib.util
import json
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from scipy.io import savemat
from skimage import data

from restorelab.evaluation.functional import float_to_uint8
from restorelab.evaluation.functional.niqe import (_aggd, fit_niqe_params, imresize_half,
                                                   load_niqe_params, niqe, niqe_features,
                                                   niqe_from_features)
from restorelab.structures.data_sample import DataSample
from restorelab.utils.image_io import imwrite_rgb


@pytest.fixture(scope='module')
def clean_images():
    """Natural photos embedded in scikit-image, cropped to 192x192 to stay fast."""
    return [data.astronaut()[100:292, 150:342], data.coffee()[50:242, 100:292],
            data.chelsea()[20:212, 100:292], data.rocket()[100:292, 100:292]]


@pytest.fixture(scope='module')
def params(clean_images):
    return fit_niqe_params(clean_images)


@pytest.fixture(scope='module')
def params_file(params, tmp_path_factory):
    path = tmp_path_factory.mktemp('niqe') / 'fitted.npz'
    np.savez(path, mu_pris_param=params[0], cov_pris_param=params[1])
    return path


def test_imresize_half_follows_matlab_bicubic_mapping():
    assert imresize_half(np.zeros((193, 200))).shape == (97, 100)  # ceil(H / 2)
    assert np.allclose(imresize_half(np.full((20, 21), 7.0)), 7.0, atol=1e-12)
    # Output pixel j samples input position 2j + 0.5 (0-based): a ramp stays a ramp inside.
    ramp = np.tile(np.arange(40.0), (30, 1))
    np.testing.assert_allclose(imresize_half(ramp)[5, 3:16], 2 * np.arange(3, 16) + 0.5,
                               atol=1e-12)


def test_aggd_fit_of_gaussian_samples_gives_shape_two():
    sample = np.random.default_rng(0).normal(0, 3.0, 200000)
    alpha, beta_l, beta_r = _aggd(sample)
    assert alpha == pytest.approx(2.0, abs=0.05)
    # For alpha = 2, beta = sigma * sqrt(Gamma(1/2) / Gamma(3/2)) = sigma * sqrt(2).
    assert beta_l == pytest.approx(3.0 * math.sqrt(2), rel=0.02)
    assert beta_r == pytest.approx(3.0 * math.sqrt(2), rel=0.02)


def test_niqe_is_zero_when_the_image_matches_the_pristine_mean(clean_images):
    feats = niqe_features(clean_images[0][..., 0].astype(np.float64))
    assert feats.shape == (4, 36)  # two 96x96 blocks each way
    assert niqe_from_features(feats, np.nanmean(feats, axis=0), np.eye(36)) == pytest.approx(
        0.0, abs=1e-9)


def test_distortions_raise_niqe_under_a_fitted_model(clean_images, params):
    import cv2
    clean = clean_images[0]
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 25, clean.shape), 0, 255)
    blurred = cv2.GaussianBlur(clean, (0, 0), 3)
    base = niqe(clean, *params)
    assert niqe(noisy.astype(np.uint8), *params) > base + 2
    assert niqe(blurred, *params) > base + 2


def test_parameters_from_npz_and_mat_give_the_same_score(clean_images, params, params_file,
                                                         tmp_path):
    mat = tmp_path / 'modelparameters.mat'
    savemat(mat, {'mu_prisparam': params[0][None, :], 'cov_prisparam': params[1]})
    for path in (params_file, mat):
        mu, cov = load_niqe_params(str(path))
        np.testing.assert_array_equal(mu, params[0])
        np.testing.assert_array_equal(cov, params[1])


def test_bad_parameters_files_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match='niqe_release.zip'):
        load_niqe_params(str(tmp_path / 'absent.mat'))
    wrong = tmp_path / 'wrong.npz'
    np.savez(wrong, mu=np.zeros(36))
    with pytest.raises(ValueError, match=r"no mu_pris_param or mu_prisparam; found \['mu'\]"):
        load_niqe_params(str(wrong))
    short = tmp_path / 'short.npz'
    np.savez(short, mu_pris_param=np.zeros(18), cov_pris_param=np.eye(18))
    with pytest.raises(ValueError, match=r'expected \(36,\) and \(36, 36\)'):
        load_niqe_params(str(short))


def test_niqe_metric_through_the_evaluator(clean_images, params, params_file):
    init_default_scope('restorelab')
    evaluator = Evaluator(dict(type='NIQE', params_file=str(params_file), prefix='RealRain'))
    imgs = [torch.from_numpy(im.transpose(2, 0, 1).astype(np.float32) / 255)
            for im in clean_images[:2]]
    evaluator.process([DataSample(pred_img=im, metainfo=dict(key=f'r{i}'))
                       for i, im in enumerate(imgs)])
    expected = np.mean([niqe(float_to_uint8(im.numpy().transpose(1, 2, 0)), *params)
                        for im in imgs])
    assert evaluator.evaluate(2) == {'RealRain/NIQE': pytest.approx(expected, abs=1e-12)}


def test_eval_images_no_reference(repo_root, clean_images, params, params_file, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('eval_images_niqe',
                                                  repo_root / 'tools' / 'eval_images.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    real = tmp_path / 'real'
    for i, im in enumerate(clean_images[:2]):
        imwrite_rgb(real / f'{i}.png', im)
    out = tmp_path / 'niqe.json'
    assert tool.main([str(real), '--no-reference', '--niqe-params', str(params_file), '--out',
                      str(out), '--no-progress']) == 0
    report = json.loads(out.read_text())
    assert [r['key'] for r in report['images']] == ['0', '1']
    assert report['images'][1]['NIQE'] == pytest.approx(niqe(clean_images[1], *params), abs=1e-12)
    assert tool.main([str(real), '--no-reference', '--niqe-params', str(tmp_path / 'no.mat'),
                      '--no-progress']) == 2
    assert 'niqe_release.zip' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([str(real), '--no-reference'])
