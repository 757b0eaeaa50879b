"""benchmarks/harness.py: fresh processes, the record's name and place, and that the measuring code
it exposes is restorelab.utils.profiling's (one implementation)."""
import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from restorelab.utils import profiling

REPO = Path(__file__).resolve().parents[2]


def load_harness():
    spec = importlib.util.spec_from_file_location('bench_harness', REPO / 'benchmarks' / 'harness.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_measures_with_restorelab_profiling():
    harness = load_harness()
    for name in ('timed', 'summary', 'interleaved', 'repeated', 'peak_memory_mb', 'agreement_db', 'set_threads',
                 'machine', 'begin'):
        assert getattr(harness, name) is getattr(profiling, name), name


def test_fresh_process_returns_the_childs_json_line_at_its_thread_count(tmp_path):
    harness = load_harness()
    child = tmp_path / 'child.py'
    child.write_text(
        'import os, sys\n'
        f'sys.path.insert(0, {str(REPO / "benchmarks")!r})\n'
        'import harness\n'
        'print("some log line")\n'
        'result = harness.measure_here(lambda: bytearray(8 * 2 ** 20), runs=2, warmup=1)\n'
        'result["threads"] = os.environ["OMP_NUM_THREADS"]\n'
        'harness.emit(result)\n')
    out = harness.fresh_process(child, [], threads=3)
    assert out['threads'] == '3' and len(out['times']) == 3 and out['first'] == out['times'][0]
    if out['peak_mb'] is not None:  # Linux: the first call's 8 MiB
        assert 6 <= out['peak_mb'] <= 100
    child.write_text('import sys\nprint("no json"); sys.exit(3)\n')
    with pytest.raises(SystemExit, match='failed \\(exit 3\\)'):
        harness.fresh_process(child, [], threads=1)
    child.write_text('print("no json")\n')
    with pytest.raises(SystemExit, match='printed no JSON result'):
        harness.fresh_process(child, [], threads=1)


def test_record_names_and_place(tmp_path):
    harness = load_harness()
    parser = harness.add_record_options(argparse.ArgumentParser())
    assert harness.record_name(parser.parse_args([]), 'x_speed') == 'x_speed'
    assert harness.record_name(parser.parse_args([]), 'x_speed', 'small') == 'x_speed-small'
    assert harness.record_name(parser.parse_args(['--dry-run']), 'x_speed', 'small') == 'x_speed-dry-run'
    assert harness.record_name(parser.parse_args(['--record', 'x_speed-2threads']), 'x_speed') == 'x_speed-2threads'
    with pytest.raises(SystemExit, match="--record '../x': expected a file name"):
        harness.record_name(parser.parse_args(['--record', '../x']), 'x_speed')
    args = parser.parse_args(['--results-dir', str(tmp_path)])
    path = harness.finish(args, 'x_speed', dict(a=1), harness.begin(), argv=['--results-dir', str(tmp_path)])
    record = json.loads(path.read_text())
    assert path == tmp_path / 'x_speed.json' and record == harness.read_record('x_speed', tmp_path)
    assert record['script'] == 'benchmarks/x_speed.py'
    assert record['command'] == f'python benchmarks/x_speed.py --results-dir {tmp_path}'


def test_make_input_pads_as_the_restorer_does():
    harness = load_harness()
    x, gt = harness.make_input('infer', (1, 13, 21))
    assert x.shape == (1, 3, 16, 24) and gt is None
    x, gt = harness.make_input('train', (2, 8, 8))
    assert x.shape == gt.shape == (2, 3, 8, 8)
