"""Gradient accumulation from total_batch_size: one iteration is one optimizer step on
total_batch_size samples, whatever the per-process batch (tools/train.py --batch-size, the
config's batch_size_per_process)."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'reliability'))
from helpers import (assert_same_weights, build_runner, captured_log,  # noqa: E402
                     make_rain200_folder, tiny_cfg, tool_main, weights)

from restorelab.engine import launch  # noqa: E402

pytestmark = pytest.mark.usefixtures('single_thread')


def test_per_process_batch_sets_the_accumulation():
    def plan(procs, total=16, per=None, cli=None, **extra):
        cfg = Config(dict(total_batch_size=total, batch_size_per_process=per,
                          train_dataloader=dict(batch_size=1), optim_wrapper=dict(type='OptimWrapper'),
                          **extra))
        launch.apply_total_batch_size(cfg, procs, cli)
        return cfg.train_dataloader.batch_size, cfg.optim_wrapper.accumulative_counts

    assert plan(1, per=4) == (4, 4)  # the DRSformer release on one GPU
    assert plan(4, per=4) == (4, 1)  # ... on the release's 4 GPUs
    assert plan(2, per=4) == (4, 2)
    assert plan(8, per=4) == (2, 1)  # more processes than needed: a smaller batch each
    assert plan(1) == (16, 1)  # no cap: the whole share at once
    assert plan(1, per=4, cli=16) == (16, 1)  # --batch-size wins over the config
    assert plan(1, per=4, cli=2) == (2, 8)
    with pytest.raises(launch.LaunchError, match=r'--batch-size=3 does not divide the 16 samples '
                       r'per process.*among \[1, 2, 4, 8, 16\]'):
        plan(1, per=4, cli=3)
    with pytest.raises(launch.LaunchError, match='batch_size_per_process=5 does not divide'):
        plan(1, per=5)
    with pytest.raises(launch.LaunchError, match='--batch-size must be a positive int'):
        plan(1, cli=0)
    with pytest.raises(launch.LaunchError, match='accumulative_counts=2 contradicts'):
        launch.apply_total_batch_size(
            Config(dict(total_batch_size=16, train_dataloader=dict(batch_size=1),
                        optim_wrapper=dict(type='OptimWrapper', accumulative_counts=2))), 1, 4)
    # Without total_batch_size a per-process batch is the loader's batch.
    cfg = Config(dict(train_dataloader=dict(batch_size=3)))
    assert launch.apply_total_batch_size(cfg, 2, 5).train_dataloader.batch_size == 5


class RecordBatches(Hook):
    """{iteration: sample keys} of every iteration, as the hooks see them."""

    def __init__(self):
        self.keys = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.keys[runner.iter + 1] = [s.metainfo['key'] for s in data_batch['data_samples']]


def test_accumulated_steps_equal_one_large_batch_step(tmp_path):
    root = make_rain200_folder(str(tmp_path / 'rain'), n_train=6)
    opts = {'train_cfg.max_iters': 3, 'total_batch_size': 4}
    runs = {}
    for name, per_process in (('large', None), ('accumulated', 1)):
        cfg = tiny_cfg(root, tmp_path / name, opts)
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                    'test_evaluator'):
            cfg[key] = None  # training only
        cfg.default_hooks.checkpoint = None
        launch.apply_total_batch_size(cfg, 1, per_process)
        record = RecordBatches()
        runner = build_runner(cfg, [record])
        initial = weights(runner)
        with captured_log() as log:
            runner.train()
        runs[name] = (runner, record, log)
    large, accumulated = runs['large'], runs['accumulated']
    assert large[0].train_dataloader.batch_size == 4 and accumulated[0].train_loop.batch_size == 1
    assert accumulated[0].optim_wrapper._accumulative_counts == 4
    assert any('per-process batch 1 x 1 process x accumulate 4 = 4 samples per iteration '
               '(total_batch_size=4)' in line for line in accumulated[2])
    assert any('per-process batch 4 x 1 process x accumulate 1 = 4' in line for line in large[2])
    # The same samples in every iteration, one optimizer step per iteration ...
    assert accumulated[1].keys == large[1].keys and len(large[1].keys[1]) == 4
    for runner, _, _ in runs.values():
        assert {float(s['step']) for s in runner.optim_wrapper.optimizer.state.values()} == {3.0}
    # ... and the same weights (mmengine divides each batch's loss by accumulative_counts).
    assert_same_weights(weights(accumulated[0]), weights(large[0]), atol=1e-6)
    changed = max((weights(large[0])[k] - v).abs().max().item() for k, v in initial.items())
    assert changed > 1e-4


def test_train_tool_refuses_a_batch_that_does_not_divide(tmp_path):
    code, err = tool_main('train', [osp.join(osp.dirname(__file__), '..', 'data', 'configs',
                                             'tiny_rain200h.py'),
                                    '--work-dir', str(tmp_path), '--batch-size', '3',
                                    '--cfg-options', 'total_batch_size=16'])
    assert code == 2
    assert err.strip().splitlines()[-1].startswith('error: --batch-size=3 does not divide the 16')


@pytest.mark.parametrize('procs, expected', [(1, (4, 4)), (2, (4, 2)), (4, (4, 1))])
def test_drsformer_entry_point_trains_on_the_release_batch_on_any_process_count(procs, expected):
    cfg = launch.load_config(osp.join(launch_root(), 'configs', 'drsformer_rain200h.py'))
    launch.apply_total_batch_size(cfg, procs)
    assert (cfg.train_dataloader.batch_size, cfg.optim_wrapper.accumulative_counts) == expected


def launch_root():
    return osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_an_accumulated_run_resumes_with_the_batches_and_weights_of_the_uninterrupted_one(tmp_path):
    root = make_rain200_folder(str(tmp_path / 'rain'), n_train=6)
    opts = {'train_cfg.max_iters': 3, 'train_cfg.val_interval': 100, 'total_batch_size': 4,
            'default_hooks.checkpoint.interval': 2, 'default_hooks.checkpoint.save_best': None}

    def run(name, resume_from=None):
        cfg = tiny_cfg(root, tmp_path / name, opts)
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                    'test_evaluator'):
            cfg[key] = None
        launch.apply_total_batch_size(cfg, 1, 2)  # 2 per step x accumulate 2
        if resume_from:
            cfg.resume, cfg.load_from = True, resume_from
        record = RecordBatches()
        runner = build_runner(cfg, [record])
        runner.train()
        return runner, record

    straight, straight_rec = run('straight')
    resumed, resumed_rec = run('resumed', osp.join(tmp_path, 'straight', 'iter_2.pth'))
    assert sorted(resumed_rec.keys) == [3] and resumed_rec.keys[3] == straight_rec.keys[3]
    assert len(straight_rec.keys[3]) == 4
    assert_same_weights(weights(resumed), weights(straight), atol=1e-7)
