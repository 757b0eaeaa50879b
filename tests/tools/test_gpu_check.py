"""benchmarks/gpu_check.sh and gpu_check.py on the CPU: the no-GPU path of the shell script, and the
Python part's full summary with tiny models (--device cpu --tiny)."""
import importlib.util
import json
import os.path as osp
import sys

import pytest

from tool_helpers import REPO, run_tool

pytestmark = pytest.mark.usefixtures('single_thread')


def _gpu_check():
    spec = importlib.util.spec_from_file_location('gpu_check', osp.join(REPO, 'benchmarks', 'gpu_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shell_script_without_a_gpu_reports_and_exits_0(tmp_path):
    res = run_tool(['bash', 'benchmarks/gpu_check.sh', '--results-dir', str(tmp_path)], python=False,
                   env={'PYTHON': sys.executable, 'CUDA_VISIBLE_DEVICES': ''})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    out = res.stdout
    assert 'device cpu; GPU none; driver n/a; torch ' in out
    assert 'DRSformer inference 16x16' in out and 'result: PASS' in out
    assert out.strip().splitlines()[-1].startswith('no GPU found (torch.cuda.is_available() is False)')
    record = json.loads((tmp_path / 'gpu_check-dry-run.json').read_text())  # --tiny: a dry run's record
    assert record['results']['environment']['device'] == 'cpu' and record['results']['failures'] == []


def test_tiny_cpu_mode_prints_the_whole_summary(tmp_path, capsys):
    report_file = tmp_path / 'report.json'
    code = _gpu_check().main(['--device', 'cpu', '--tiny', '--sections', 'env,drsformer,restormer',
                              '--json', str(report_file), '--results-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(report_file.read_text())
    assert report['environment']['device'] == 'cpu' and report['failures'] == []
    cases = {(r['arch'], r['case'], r['dtype']): r for r in report['cases']}
    for size in ('16x16', '21x29'):
        for dtype in ('float32', 'bfloat16', 'float16'):
            for arch in ('DRSformer', 'Restormer'):  # both have a fast flag: plain and fast compared
                case = cases[(arch, f'inference {size}', dtype)]
                assert case['plain']['seconds'] > 0 and case['fast']['seconds'] > 0 and case['psnr_db'] >= 30
        for arch in ('DRSformer', 'Restormer'):
            assert cases[(arch, f'inference {size}', 'float32')]['psnr_db'] >= 60
    for batch in (2, 4):
        step = cases[('DRSformer', f'train step {batch}x16x16', 'bfloat16 AMP')]
        assert step['loss_rel_diff'] <= 1e-2 and step['grad_cosine'] >= 0.99
        assert cases[('Restormer', f'train step {batch}x16x16', 'bfloat16 AMP')]['plain']['finite']
    assert 'no GPU found' in out and out.rstrip().splitlines()[-2].endswith('result: PASS')
    record = json.loads((tmp_path / 'gpu_check-dry-run.json').read_text())
    assert record['results'] == json.loads(json.dumps(report)) and record['script'] == 'benchmarks/gpu_check.py'
    assert record['machine']['cores'] >= 1 and '--tiny' in record['command']
    assert out.count('DRSformer inference') == 6 and out.count('train step') == 4


def test_a_disagreement_fails_the_check(monkeypatch, capsys, tmp_path):
    module = _gpu_check()
    monkeypatch.setitem(module.MIN_DB, 'float32', 1e9)  # no pair of float32 outputs agrees this well
    assert module.main(['--device', 'cpu', '--tiny', '--sections', 'agreement', '--results-dir', str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert 'result: FAIL' in out and 'DRSformer inference 16x16 float32: plain and fast disagree' in out


def test_unknown_sections_are_named(capsys):
    module = _gpu_check()
    with pytest.raises(SystemExit) as err:
        module.main(['--sections', 'env,speed'])
    assert err.value.code == 2 and "unknown ['speed']" in capsys.readouterr().err
