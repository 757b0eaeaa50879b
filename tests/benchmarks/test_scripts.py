"""Every benchmark script runs at its smallest size (``--dry-run``) and writes a results record with
the run's fields and the script's own results (benchmarks/harness.py). The runs whose smallest size
still starts child processes (fresh-process timing, tool runs, training) are slow tests."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
RUN_FIELDS = ('name', 'script', 'command', 'commit', 'dirty', 'date', 'seconds', 'machine', 'results')


@pytest.fixture(autouse=True)
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def load_script(name):
    sys.path.insert(0, str(REPO / 'benchmarks'))
    spec = importlib.util.spec_from_file_location(f'bench_{name}', REPO / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_record(folder, script, keys, name=None):
    """The record ``<folder>/<name>.json`` of a dry run of ``script``: its run fields and ``keys``
    among its results; returns the results."""
    name = name or f'{script}-dry-run'
    assert sorted(p.name for p in Path(folder).glob('*.json')) == [f'{name}.json']
    record = json.loads((Path(folder) / f'{name}.json').read_text())
    assert all(field in record for field in RUN_FIELDS), sorted(record)
    assert record['name'] == name and record['script'] == f'benchmarks/{script}.py'
    assert record['command'].startswith(f'python benchmarks/{script}.py ') and '--dry-run' in record['command']
    assert record['date'][:2] == '20' and isinstance(record['machine']['cores'], int)
    machine = record['machine']
    assert machine['cpu'] and machine['torch'] == torch.__version__ and len(machine['load_average']) == 3
    missing = [k for k in keys if k not in record['results']]
    assert not missing, f'{script}: results without {missing}'
    return record['results']


def run(name, args, tmp_path):
    assert load_script(name).main(['--dry-run', '--results-dir', str(tmp_path), *args]) in (0, None)


def test_cpu_roofline(tmp_path, capsys):
    run('cpu_roofline', [], tmp_path)
    results = check_record(tmp_path, 'cpu_roofline', ('products', 'depthwise', 'fusions'))
    assert all(r['mkl_gflops'] > 0 and r['onednn_gflops'] > 0 for r in results['products'])
    assert all(f['max_abs'] < 1e-4 for f in results['fusions'])
    assert '| product (rows × inner × cols) |' in capsys.readouterr().out


def test_restormer_ops_speed(tmp_path):
    run('restormer_ops_speed', [], tmp_path)
    results = check_record(tmp_path, 'restormer_ops_speed', ('forward', 'backward', 'both'))
    assert set(results['forward'][0]['gflops']) == {'conv2d', 'onednn', 'mm'}
    assert results['both'][0]['max_relative_diff'] < 1e-4


def check_speed(results, impls):
    assert results['size'] == 'dry-run' and results['implementations'] == impls and results['float64_max_abs'] < 1e-8
    for case in results['cases']:
        assert set(case['interleaved']) == set(impls) and case['interleaved'][impls[0]]['steady'] > 0
        assert all(a['psnr_db'] >= 60 for a in case['agreement'].values())


@pytest.mark.parametrize('script, modes', [('drsformer_speed', ['--mode', 'interleaved']),
                                           ('restormer_speed', ['--modes', 'interleaved'])])
def test_speed_scripts_in_one_process(script, modes, tmp_path):
    run(script, [*modes, '--no-memory'], tmp_path)
    results = check_record(tmp_path, script, ('cases', 'implementations', 'fast', 'float64_max_abs'))
    check_speed(results, ['reference', 'optimised'] if script == 'drsformer_speed' else ['plain', 'fast'])
    assert [c['kind'] for c in results['cases']] == ['infer', 'train']


def test_onnx_speed(tmp_path):
    pytest.importorskip('onnxruntime', reason='onnx_speed needs the deploy extra: pip install -e .[deploy]')
    run('onnx_speed', [], tmp_path)
    results = check_record(tmp_path, 'onnx_speed', ('rows', 'runs', 'memory'))
    assert [r['impl'] for r in results['rows']] == ['pytorch', 'onnxruntime']
    assert results['rows'][0]['ratio'] == 1.0 and results['rows'][1]['export_psnr_db'] >= 50


def subprocess_dry_run(script, args, tmp_path, timeout=1500):
    res = subprocess.run([sys.executable, f'benchmarks/{script}.py', '--dry-run', '--results-dir',
                          str(tmp_path / 'results'), *args], cwd=REPO, capture_output=True, text=True,
                         timeout=timeout, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return res.stdout


@pytest.mark.slow
@pytest.mark.parametrize('script', ['drsformer_speed', 'restormer_speed'])
def test_speed_scripts_with_fresh_processes_and_memory(script, tmp_path):
    subprocess_dry_run(script, [], tmp_path)
    results = check_record(tmp_path / 'results', script, ('cases',))
    impls = ['reference', 'optimised'] if script == 'drsformer_speed' else ['plain', 'fast']
    check_speed(results, impls)
    for case in results['cases']:
        assert set(case['fresh']) == set(impls) and all(case['peak_mb'][i] > 0 for i in impls)


@pytest.mark.slow
def test_onnx_speed_alone_in_fresh_processes(tmp_path):
    pytest.importorskip('onnxruntime', reason='onnx_speed needs the deploy extra: pip install -e .[deploy]')
    subprocess_dry_run('onnx_speed', ['--memory'], tmp_path)
    results = check_record(tmp_path / 'results', 'onnx_speed', ('rows',))
    assert results['memory'] and all(r['peak_mb'] > 0 and r['alone_s'] > 0 for r in results['rows'])


@pytest.mark.slow
def test_memory_growth(tmp_path):
    out = subprocess_dry_run('memory_growth', ['--scratch', str(tmp_path / 'scratch')], tmp_path)
    results = check_record(tmp_path / 'results', 'memory_growth', ('runs', 'counts', 'images'))
    assert results['counts'] == [1, 2] and [r['run'].split(',')[0] for r in results['runs']] == [
        'tools/benchmark.py', 'tools/test.py']
    assert all(r['peak_mib']['1'] > 50 for r in results['runs']) and '| tools/test.py' in out


@pytest.mark.slow
def test_resume_time(tmp_path):
    subprocess_dry_run('resume_time', ['--scratch', str(tmp_path / 'scratch')], tmp_path)
    results = check_record(tmp_path / 'results', 'resume_time', ('loops', 'early', 'late'))
    assert [r['loop'] for r in results['loops']] == ['restorelab', 'mmengine']
    assert all(r['median']['2'] > 0 and r['median']['4'] > 0 for r in results['loops'])


@pytest.mark.slow
def test_watchdog_recovery(tmp_path):
    subprocess_dry_run('watchdog_recovery', ['--scratch', str(tmp_path / 'scratch')], tmp_path)
    results = check_record(tmp_path / 'results', 'watchdog_recovery', ('uninterrupted_s', 'runs', 'timeout_s'))
    assert results['iterations'] == 2 and results['runs'] == {} and results['uninterrupted_s'][0] > 0


def test_nerd_rain_speed(tmp_path):
    run('nerd_rain_speed', [], tmp_path)
    results = check_record(tmp_path, 'nerd_rain_speed', ('size', 'variants'))
    for row in results['variants'].values():
        assert row['max_abs_difference'] == 0 and row['macs_shape'] == [3, 32, 32]
        assert 0 < row['macs_fast'] < row['macs_release']  # the INR's MLP once instead of four times


def test_every_benchmark_script_has_its_dry_run_test():
    """A new script in benchmarks/ gets a test in tests/benchmarks (gpu_check's are in
    tests/tools/test_gpu_check.py). Left out: the modules, and the scripts that need what the
    repository does not hold (a release's code: official_equivalence, spanet_released_weights; real
    rainy photos and an IQA package: real_rain_spanet) and dist_benchmark_time (two whole
    benchmark runs, one on two processes: what it times is held equal by
    tests/tools/test_dist_benchmark.py's slow two-processes test); they write their records
    through the same harness."""
    left_out = {'harness', 'tables', 'report', 'published', 'gpu_check', 'official_equivalence',
                'spanet_released_weights', 'real_rain_spanet', 'dist_benchmark_time'}
    scripts = {p.stem for p in (REPO / 'benchmarks').glob('*.py')} - left_out
    text = ''.join(p.read_text() for p in (REPO / 'tests' / 'benchmarks').glob('test_*.py'))
    assert sorted(s for s in scripts if f"'{s}'" not in text) == []


@pytest.mark.slow  # tracing FADformer_mini for the FLOP counts takes tens of seconds even at 16x16
def test_fadformer_cost(tmp_path):
    run('fadformer_cost', [], tmp_path)
    results = check_record(tmp_path, 'fadformer_cost', ('input', 'variants'), name='fadformer-cost-dry-run')
    row = results['variants']['FADformer_mini']
    assert results['input'] == [3, 16, 16] and row['params'] >= row['params_of_modules_run'] > 0
    assert row['flops_mmengine'] > 0
