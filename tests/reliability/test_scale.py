"""Scale on one machine (slow): 4 processes train and validate like one process with
the same total batch, write one set of checkpoints and resume on 4 processes; two
"nodes" (two torchrun launches, 2 processes each) train, checkpoint and resume to the
4-process result; a non-finite step on one rank is skipped on every rank
and a streak of them stops every rank with one message."""
import json
import os
import os.path as osp
import socket

import pytest
import torch

from helpers import (FAULT_CONFIG, data_root_options, end_reports, logged_val_metrics,
                     make_rain200_folder, popen_train, run_tool, train_args, trained_keys)
from restorelab.engine.checkpoint import safe_torch_load
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

pytestmark = pytest.mark.slow

# 6 iterations, validation and checkpoints at 3 and 6.
OPTS = ['train_cfg.max_iters=6', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=3']


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = make_rain200_folder(str(tmp_path_factory.mktemp('rain')), n_train=8, n_test=4)
    # Five test images: on four processes the sampler pads three, which the
    # evaluator must drop.
    for side in ('input', 'target'):
        imwrite_rgb(osp.join(root, 'test', side, '5.png'),
                    imread_rgb(osp.join(root, 'test', side, '1.png'))[::-1].copy())
    return root


def _finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-4000:]
    return out + err


def _weights(path):
    return safe_torch_load(path)['state_dict']


def _assert_close(a, b, atol):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=k)


@pytest.fixture(scope='module')
def four(root, tmp_path_factory):
    """An uninterrupted 6-iteration run on 4 processes, 1 sample each."""
    work = str(tmp_path_factory.mktemp('four'))
    _finish(popen_train(train_args(root, work, *OPTS, 'train_dataloader.batch_size=1'), procs=4))
    return work


def test_four_processes_equal_one_and_resume_on_four(root, four, tmp_path):
    # The same total batch in one process.
    one = str(tmp_path / 'one')
    _finish(popen_train(train_args(root, one, *OPTS, 'train_dataloader.batch_size=4')))
    # Each iteration the 4 processes trained on the 4 samples the single process did.
    keys_one = trained_keys(one)
    keys_four = [trained_keys(four, r) for r in range(4)]
    assert sorted(keys_one) == list(range(1, 7))
    for it in keys_one:
        assert sorted(sum((k[it] for k in keys_four), [])) == sorted(keys_one[it]), it
    ends = end_reports(four, 4)
    assert len({e['param_sum'] for e in ends}) == 1 and {e['world_size'] for e in ends} == {4}
    # Same weights up to the order of float sums (DDP averages 4 gradients).
    _assert_close(_weights(osp.join(four, 'iter_6.pth')), _weights(osp.join(one, 'iter_6.pth')),
                  atol=1e-5)
    # One set of checkpoints (rank 0 writes), no partial files.
    files = sorted(f for f in os.listdir(four) if not osp.isdir(osp.join(four, f)))
    best = [f for f in files if f.startswith('best_')]
    assert [f for f in files if f.endswith('.pth') and f not in best] == ['iter_3.pth',
                                                                          'iter_6.pth']
    assert len(best) == 1 and not [f for f in files if f.startswith('.tmp')]
    # Validation on 4 processes scored each of the 5 test images once: it equals a
    # single-process test of the same checkpoint.
    logged = logged_val_metrics(four)
    for it in (3, 6):
        out = str(tmp_path / f'test{it}.json')
        res = run_tool(['tools/test.py', FAULT_CONFIG, osp.join(four, f'iter_{it}.pth'),
                        '--out', out, '--work-dir', str(tmp_path / f't{it}'), '--cfg-options',
                        *data_root_options(root)])
        assert res.returncode == 0, res.stderr[-3000:]
        single = json.load(open(out))['metrics']
        for k in ('Rain200H/PSNR', 'Rain200H/SSIM'):
            assert logged[it][k] == pytest.approx(single[k], abs=1e-4), (it, k)
    # Resume on 4 processes from iteration 3: the uninterrupted 4-process weights.
    resumed = str(tmp_path / 'resumed')
    log = _finish(popen_train(train_args(root, resumed, *OPTS, 'train_dataloader.batch_size=1',
                                         '--resume', osp.join(four, 'iter_3.pth')), procs=4))
    assert 'continues at position 12 of its stream' in log
    _assert_close(_weights(osp.join(resumed, 'iter_6.pth')),
                  _weights(osp.join(four, 'iter_6.pth')), atol=1e-6)
    for r in range(4):
        assert trained_keys(resumed, r) == {it: k for it, k in trained_keys(four, r).items()
                                            if it > 3}


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _two_nodes(root, work, *options):
    """Two torchrun launches of 2 processes each, meeting at a local port; their
    ``(exit status, output)``."""
    port = str(_free_port())
    procs = [popen_train(train_args(root, work, 'train_dataloader.batch_size=1', *options),
                         procs=2, env=dict(NNODES='2', NODE_RANK=str(node),
                                           MASTER_ADDR='127.0.0.1', MASTER_PORT=port))
             for node in (0, 1)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        results.append((p.returncode, out + err))
    return results


def test_two_nodes_train_checkpoint_resume_like_four_processes(root, four, tmp_path):
    work = str(tmp_path / 'nodes')
    # Rank 2 (on the second "node") is told to stop during iteration 4, as a
    # preemption would: every rank stops there and iter_4.pth is saved.
    _two_nodes(root, work, *OPTS, 'custom_hooks.0.term_rank=2', 'custom_hooks.0.term_at=4')
    ends = end_reports(work, 4)
    assert [(e['world_size'], e['iter'], e['stop_signal']) for e in ends] == [
        (4, 4, 'SIGTERM')] * 4
    (code0, log0), (code1, log1) = _two_nodes(root, work, *OPTS, '--resume')
    assert code0 == code1 == 0, log0[-3000:] + log1[-3000:]
    assert 'continues at position 16 of its stream' in log0
    _assert_close(_weights(osp.join(work, 'iter_6.pth')), _weights(osp.join(four, 'iter_6.pth')),
                  atol=1e-6)
    for r in range(4):
        assert trained_keys(work, r) == trained_keys(four, r)


def _param_sums(work, rank):
    return {json.loads(line)['iter']: json.loads(line)['param_sum']
            for line in open(osp.join(work, f'keys_rank{rank}.jsonl'))}


def test_nonfinite_step_on_one_rank_is_skipped_on_every_rank(root, tmp_path):
    work = str(tmp_path / 'nan')
    proc = popen_train(train_args(
        root, work, 'train_cfg.max_iters=10', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=100', 'default_hooks.nonfinite.max_consecutive=3',
        'custom_hooks.0.nan_rank=1', 'custom_hooks.0.nan_at=[2,4,5,6]'), procs=2)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode != 0
    sums = [_param_sums(work, r) for r in range(2)]
    # The ranks stayed identical; iteration 2 (NaN on rank 1 only) changed nothing
    # on either; every rank stopped after iteration 6, the third NaN in a row.
    assert sums[0] == sums[1] and sorted(sums[0]) == list(range(1, 7))
    assert sums[0][2] == sums[0][1] and sums[0][3] != sums[0][2]
    assert sums[0][6] == sums[0][5] == sums[0][4] == sums[0][3]
    errors = [line for line in err.splitlines() if line.startswith('error')]
    assert len(errors) == 1, err[-4000:]
    assert errors[0].startswith('error: training stopped on every process at iteration 6: '
                                '3 consecutive steps')
    batch_of_rank1 = trained_keys(work, 1)[6]
    assert 'on rank 1 (loss nan; batch: ' in errors[0]
    assert all(f'/{k}.png' in errors[0].split('on rank 1')[1] for k in batch_of_rank1)
