"""tools/eval_images.py on temporary folders: pairing, bad files, outputs; the folders run
through the evaluator as a saved-results dataset, scored by the PSNR/SSIM metric classes."""
import csv
import importlib.util
import json

import numpy as np
import pytest

from restorelab.datasets.saved_results import pair_folders
from restorelab.evaluation.metrics import PSNR
from restorelab.evaluation.functional import compute_metrics
from restorelab.utils.image_io import imread_rgb, imwrite_rgb


@pytest.fixture(scope='module')
def eval_images(repo_root):
    spec = importlib.util.spec_from_file_location('eval_images', repo_root / 'tools' / 'eval_images.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _img(seed, h=24, w=30):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def folders(tmp_path):
    """results/{a,b}.png against gt/{a,b}.jpg: pairing is by stem, not extension."""
    res, gt = tmp_path / 'results', tmp_path / 'gt'
    for i, key in enumerate(['a', 'b']):
        clean = _img(i)
        imwrite_rgb(gt / f'{key}.jpg', clean)
        imwrite_rgb(res / f'{key}.png', np.clip(clean.astype(int) + 3 * i + 2, 0, 255).astype(np.uint8))
    return res, gt


@pytest.fixture
def scoring_calls(monkeypatch):
    """The images the PSNR metric scored (none when a problem stops the tool first)."""
    calls = []
    real = PSNR.score

    def counting(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PSNR, 'score', counting)
    return calls


def _expected(res, gt, key, gt_ext='.jpg', protocol='restormer'):
    return compute_metrics(imread_rgb(res / f'{key}.png'), imread_rgb(gt / f'{key}{gt_ext}'), protocol)


def test_name_pairing_json_output_and_terminal_table(eval_images, folders, tmp_path, capsys):
    res, gt = folders
    out = tmp_path / 'metrics.json'
    assert eval_images.main([str(res), str(gt), '--protocol', 'restormer', '--out', str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r['key'] for r in report['images']] == ['a', 'b']
    for r in report['images']:
        expected = _expected(res, gt, r['key'])
        assert r['gt'].endswith(f'{r["key"]}.jpg')
        assert r['PSNR'] == pytest.approx(expected['psnr'], abs=1e-12)
        assert r['SSIM'] == pytest.approx(expected['ssim'], abs=1e-12)
    assert report['mean']['PSNR'] == pytest.approx(np.mean([r['PSNR'] for r in report['images']]))
    assert report['skipped'] == [] and report['num_images'] == 2
    text = capsys.readouterr().out
    assert f'{report["mean"]["PSNR"]:.4f}' in text and 'mean' in text


def test_csv_output_and_inf_for_identical_images(eval_images, tmp_path):
    res, gt = tmp_path / 'res', tmp_path / 'gt'
    imwrite_rgb(res / 'x.png', _img(5))
    imwrite_rgb(gt / 'x.png', _img(5))
    out = tmp_path / 'm.csv'
    assert eval_images.main([str(res), str(gt), '--protocol', 'rcdnet', '--out', str(out),
                             '--no-progress']) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ['key', 'result', 'gt', 'PSNR', 'SSIM', 'note']
    assert rows[1][0] == 'x' and rows[1][3] == 'inf' and float(rows[1][4]) == pytest.approx(1.0)
    assert rows[2][0] == 'mean' and rows[2][3] == 'inf'


def _assert_refused(eval_images, res, gt, out, capsys, scoring_calls, *needles):
    assert eval_images.main([str(res), str(gt), '--protocol', 'restormer', '--out', str(out),
                             '--no-progress']) == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err
    assert 'nothing was scored' in err and '--skip-bad' in err
    assert scoring_calls == [] and not out.exists()


def test_missing_partner_stops_before_scoring(eval_images, folders, tmp_path, capsys,
                                              scoring_calls):
    res, gt = folders
    imwrite_rgb(res / 'c.png', _img(7))
    _assert_refused(eval_images, res, gt, tmp_path / 'm.json', capsys, scoring_calls,
                    str(res / 'c.png'), 'no ground truth named c.*')


def test_unreadable_file_stops_before_scoring(eval_images, folders, tmp_path, capsys,
                                              scoring_calls):
    res, gt = folders
    (gt / 'b.jpg').write_bytes(b'not an image at all')
    _assert_refused(eval_images, res, gt, tmp_path / 'm.json', capsys, scoring_calls,
                    str(gt / 'b.jpg'), 'cannot decode')


def test_size_mismatch_stops_before_scoring(eval_images, folders, tmp_path, capsys,
                                            scoring_calls):
    res, gt = folders
    imwrite_rgb(res / 'b.png', _img(8, 24, 32))
    _assert_refused(eval_images, res, gt, tmp_path / 'm.json', capsys, scoring_calls,
                    f'{res / "b.png"} (24x32) vs ground truth {gt / "b.jpg"} (24x30)')


def test_skip_bad_scores_the_rest_and_lists_the_bad_files(eval_images, folders, tmp_path, capsys):
    res, gt = folders
    imwrite_rgb(res / 'c.png', _img(7))              # no partner
    imwrite_rgb(gt / 'd.png', _img(9))               # no result
    imwrite_rgb(res / 'e.png', _img(10, 24, 32))     # size mismatch
    imwrite_rgb(gt / 'e.png', _img(11))
    (res / 'f.png').write_bytes(b'\x89PNG truncated')  # unreadable
    imwrite_rgb(gt / 'f.png', _img(12))
    out = tmp_path / 'm.json'
    assert eval_images.main([str(res), str(gt), '--protocol', 'restormer', '--out', str(out),
                             '--skip-bad', '--no-progress']) == 0
    report = json.loads(out.read_text())
    assert [r['key'] for r in report['images']] == ['a', 'b']
    skipped = {s['path'] for s in report['skipped']}
    assert skipped == {str(res / 'c.png'), str(gt / 'd.png'), str(res / 'e.png'), str(res / 'f.png')}
    assert report['mean']['PSNR'] == pytest.approx(
        np.mean([_expected(res, gt, k)['psnr'] for k in 'ab']), abs=1e-12)
    text = capsys.readouterr().out
    assert f'skipped {res / "c.png"}' in text and f'skipped {res / "f.png"}' in text


def test_template_pairing_in_one_folder(eval_images, tmp_path):
    both = tmp_path / 'did'
    for i in (1, 2):
        imwrite_rgb(both / f'{i}_GT.png', _img(i))
        imwrite_rgb(both / f'{i}_DR.png', _img(i + 10))
    out = tmp_path / 'm.json'
    assert eval_images.main([str(both), str(both), '--protocol', 'rcdnet', '--pair-by', 'template',
                             '--result-template', '{}_DR', '--gt-template', '{}_GT', '--out',
                             str(out), '--no-progress']) == 0
    report = json.loads(out.read_text())
    assert [(r['key'], r['result'], r['gt']) for r in report['images']] == [
        (str(i), str(both / f'{i}_DR.png'), str(both / f'{i}_GT.png')) for i in (1, 2)]
    assert report['ignored'] == []
    expected = compute_metrics(_img(11), _img(1), 'rcdnet')
    assert report['images'][0]['PSNR'] == pytest.approx(expected['psnr'], abs=1e-12)


def test_templates_need_template_pairing(eval_images, folders, capsys):
    res, gt = folders
    assert eval_images.main([str(res), str(gt), '--protocol', 'restormer',
                             '--gt-template', '{}_GT']) == 2
    assert 'pair_by="template"' in capsys.readouterr().err


def test_position_pairing_follows_matlab_dir_order(tmp_path):
    res, gt = tmp_path / 'res', tmp_path / 'gt'
    # MATLAB: [dir('*.jpg'); dir('*.png')], each sorted by name: 9.jpg, 1.png, 10.png, 2.png.
    for name, seed in [('1.png', 0), ('10.png', 1), ('2.png', 2), ('9.jpg', 3)]:
        imwrite_rgb(res / name, _img(seed))
    for name, seed in [('g1.png', 4), ('g2.png', 5), ('g3.png', 6), ('g4.png', 7)]:
        imwrite_rgb(gt / name, _img(seed))
    pairs, problems, ignored = pair_folders(str(res), str(gt), pair_by='position')
    assert [(r.split('/')[-1], g.split('/')[-1]) for _, r, g in pairs] == [
        ('9.jpg', 'g1.png'), ('1.png', 'g2.png'), ('10.png', 'g3.png'), ('2.png', 'g4.png')]
    assert problems == [] and ignored == []
    imwrite_rgb(gt / 'g5.png', _img(8))
    _, problems, _ = pair_folders(str(res), str(gt), pair_by='position')
    assert [p.path for p in problems] == [str(gt / 'g5.png')]


def test_16_bit_results_are_refused_or_quantised_as_asked(eval_images, tmp_path, capsys):
    res, gt = tmp_path / 'res', tmp_path / 'gt'
    rng = np.random.default_rng(7)
    clean = _img(11)
    result16 = rng.integers(0, 65536, clean.shape, dtype=np.uint16)
    imwrite_rgb(res / 'x.png', result16)
    imwrite_rgb(gt / 'x.png', clean)
    args = [str(res), str(gt), '--protocol', 'rcdnet', '--no-progress']
    assert eval_images.main(args) == 2
    err = capsys.readouterr().err
    assert 'is a 16-bit image' in err and 'pass --quantize round|truncate' in err
    scale = result16.astype(np.float64) / 65535 * 255
    expected = {'round': np.round(scale).astype(np.uint8),
                'truncate': np.trunc(scale).astype(np.uint8)}
    for mode in ('round', 'truncate'):
        out = tmp_path / f'{mode}.json'
        assert eval_images.main(args + ['--quantize', mode, '--out', str(out)]) == 0
        report = json.loads(out.read_text())
        assert report['quantize'] == mode
        want = compute_metrics(expected[mode], clean, 'rcdnet')
        assert report['images'][0]['PSNR'] == pytest.approx(want['psnr'], abs=1e-12)
        assert f'brought to 8 bits by {mode}' in capsys.readouterr().out
    assert (expected['round'] != expected['truncate']).any()
