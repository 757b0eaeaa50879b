"""restorelab.utils.profiling: the one implementation of timing, peak memory, agreement and the
run record that benchmarks/harness.py re-exports and tools/analysis/speed.py uses."""
import math
import sys
import time

import numpy as np
import pytest
import torch

from restorelab.utils import procfs, profiling


def test_summary_is_the_first_run_and_the_median_after_the_warmup():
    assert profiling.summary([3.0, 1.0, 2.0, 5.0]) == dict(first=3.0, steady=2.0, times=[3.0, 1.0, 2.0, 5.0])
    assert profiling.summary([3.0, 1.0, 2.0, 5.0], warmup=2)['steady'] == 3.5
    assert profiling.summary([4.0, 2.0], warmup=0)['steady'] == 3.0
    assert profiling.summary([4.0], warmup=1) == dict(first=4.0, steady=4.0, times=[4.0])
    with pytest.raises(ValueError, match='no times'):
        profiling.summary([])


def test_the_cpu_clock_leaves_out_waiting_and_the_wall_clock_counts_it():
    wall, out = profiling.timed(lambda: time.sleep(0.2) or 'done', clock='wall')
    cpu, _ = profiling.timed(lambda: time.sleep(0.2), clock='cpu')
    assert out == 'done' and wall >= 0.2 and cpu < 0.1
    with pytest.raises(ValueError, match="clock must be one of"):
        profiling.timed(lambda: None, clock='gpu')


def test_interleaved_alternates_and_keeps_each_first_output():
    calls = []

    def runner(name):
        def run():
            calls.append(name)
            return f'{name}{calls.count(name)}'
        return run
    figures, first = profiling.interleaved({'a': runner('a'), 'b': runner('b')}, runs=2, warmup=1)
    assert calls == ['a', 'b'] * 3 and first == {'a': 'a1', 'b': 'b1'}
    assert all(len(f['times']) == 3 and f['first'] == f['times'][0] for f in figures.values())
    summary, out = profiling.repeated(runner('c'), runs=3, warmup=2)
    assert calls.count('c') == 5 and out == 'c1' and len(summary['times']) == 5
    with pytest.raises(ValueError, match='runs must be >= 1'):
        profiling.interleaved({'a': runner('a')}, runs=0)


def test_agreement_db_is_psnr_with_peak_one():
    a, b = np.zeros((2, 3)), np.full((2, 3), 0.1)
    assert profiling.agreement_db(a, b) == pytest.approx(20.0)
    assert profiling.agreement_db(torch.zeros(4), torch.full((4,), 0.5), peak=2.0) == pytest.approx(
        10 * math.log10(4 / 0.25))
    assert profiling.agreement_db(a, a) == math.inf and profiling.max_abs_diff(a, b) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r'shapes differ, \(2, 3\) and \(3,\)'):
        profiling.agreement_db(a, np.zeros(3))


@pytest.mark.skipif(procfs.status_kb('VmRSS') is None or not procfs.reset_peak_rss(),
                    reason='no /proc/self/status or clear_refs: peak resident set not measurable here')
def test_peak_memory_counts_what_one_call_touches():
    def touch_64_mib():
        block = np.ones(64 * 2 ** 20 // 8)  # written: resident
        return float(block[-1])
    out, mib = profiling.peak_memory_mb(touch_64_mib)
    assert out == 1.0 and 56 <= mib <= 200


def test_the_record_names_the_command_commit_and_machine(tmp_path):
    begun = profiling.begin()
    path = profiling.write_record(tmp_path / 'r.json', 'r', dict(x=1), argv=[__file__, '--flag', 'a b'], begun=begun)
    record = __import__('json').loads(path.read_text())
    assert record['name'] == 'r' and record['results'] == dict(x=1)
    assert record['script'] == 'tests/utils/test_profiling.py'
    assert record['command'] == "python tests/utils/test_profiling.py --flag 'a b'"
    assert record['date'] == begun['date'] and record['seconds'] >= 0
    m = record['machine']
    assert m['cores'] >= 1 and m['cpu'] and m['torch'] == torch.__version__ and m['python']
    assert len(m['load_average']) == 3 and m['load_average_start'] == begun['load_average']
    if record['commit'] is not None:  # a git checkout
        assert len(record['commit']) == 40 and isinstance(record['dirty'], bool)
    assert 'onnxruntime' not in m or 'onnxruntime' in sys.modules


def test_set_threads_sets_torch_and_refuses_zero():
    before = torch.get_num_threads()
    try:
        assert profiling.set_threads(1) == 1 and torch.get_num_threads() == 1
        with pytest.raises(ValueError, match='threads must be >= 1, got 0'):
            profiling.set_threads(0)
    finally:
        torch.set_num_threads(before)
