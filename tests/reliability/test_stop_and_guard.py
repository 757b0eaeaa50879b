"""SIGTERM/SIGINT save a checkpoint and stop; non-finite steps are skipped and
a streak of them stops the run naming the iteration and files."""
import os
import os.path as osp
import signal

import pytest
import torch
from mmengine.hooks import Hook

from helpers import (AtIteration, assert_same_weights, build_runner, make_rain200_folder,
                     tiny_cfg, weights)
from restorelab.engine import launch
from restorelab.engine.checkpoint import safe_torch_load
from restorelab.utils.errors import NonFiniteLossError

OPTS = {'train_cfg.max_iters': 6, 'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 100}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_rain200_folder(str(tmp_path_factory.mktemp('rain')))


@pytest.fixture(scope='module')
def straight(root, tmp_path_factory):
    """Weights after an uninterrupted 6-iteration run."""
    runner = build_runner(tiny_cfg(root, tmp_path_factory.mktemp('straight'), OPTS))
    runner.train()
    return weights(runner)


@pytest.mark.parametrize('signame', ['SIGTERM', 'SIGINT'])
def test_signal_saves_checkpoint_stops_and_resumes_exactly(root, tmp_path, straight, signame):
    signum = getattr(signal, signame)
    before = signal.getsignal(signum)
    work = str(tmp_path / 'w')
    # The signal arrives in the middle of iteration 3.
    runner = build_runner(tiny_cfg(root, work, OPTS),
                          [AtIteration(3, lambda r, b: os.kill(os.getpid(), signum))])
    runner.train()  # returns instead of dying or raising KeyboardInterrupt
    assert runner.iter == 3
    assert runner.message_hub.get_info('stop_signal') == signame
    assert runner.message_hub.get_info('stop_iter') == 3
    assert signal.getsignal(signum) is before  # handlers restored
    ckpt = safe_torch_load(osp.join(work, 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'iter_3.pth')
    # Resuming reaches the weights of the uninterrupted run.
    cfg = launch.resolve_resume(tiny_cfg(root, work, OPTS), 'auto')
    resumed = build_runner(cfg)
    resumed.train()
    assert resumed.iter == 6 and resumed.message_hub.get_info('stop_signal') is None
    assert_same_weights(weights(resumed), straight)


class PoisonOutputs(Hook):
    """The arch outputs NaN during the given iterations (1-based); records each
    poisoned batch's files."""

    priority = 'VERY_HIGH'

    def __init__(self, iterations):
        self.iterations = set(iterations)
        self.handle = None
        self.files = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 in self.iterations:
            self.files.append([s.img_path for s in data_batch['data_samples']])
            self.handle = runner.model.arch.register_forward_hook(
                lambda module, args, out: out * float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


def test_single_nonfinite_step_is_skipped(root, tmp_path):
    snapshots = {}
    runner = build_runner(
        tiny_cfg(root, tmp_path / 'w', OPTS),
        [PoisonOutputs([3]),
         AtIteration(3, lambda r, b: snapshots.setdefault('before', weights(r))),
         AtIteration(4, lambda r, b: snapshots.setdefault('after', weights(r)))])
    runner.train()
    assert runner.iter == 6
    # Iteration 3 changed nothing; the others were applied (5 AdamW steps).
    assert_same_weights(snapshots['before'], snapshots['after'], atol=0)
    state = runner.optim_wrapper.optimizer.state_dict()['state']
    assert {float(s['step']) for s in state.values()} == {5.0}
    assert all(torch.isfinite(v).all() for v in weights(runner).values())
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 1


def test_nonfinite_gradient_with_finite_loss_is_skipped(root, tmp_path):
    handles = []

    def poison_grads(runner, data_batch):
        model = runner.model
        p = next(model.parameters())
        handles.append(p.register_hook(lambda g: g * float('inf')))

    snapshots = {}
    runner = build_runner(
        tiny_cfg(root, tmp_path / 'w', {**OPTS, 'train_cfg.max_iters': 3}),
        [AtIteration(2, lambda r, b: (snapshots.setdefault('before', weights(r)),
                                      poison_grads(r, b))),
         AtIteration(3, lambda r, b: (snapshots.setdefault('after', weights(r)),
                                      [h.remove() for h in handles]))])
    runner.train()
    assert_same_weights(snapshots['before'], snapshots['after'], atol=0)
    state = runner.optim_wrapper.optimizer.state_dict()['state']
    assert {float(s['step']) for s in state.values()} == {2.0}


def test_consecutive_nonfinite_steps_stop_the_run(root, tmp_path):
    work = str(tmp_path / 'w')
    cfg = tiny_cfg(root, work, {**OPTS, 'train_cfg.max_iters': 12,
                                'default_hooks.checkpoint.interval': 3,
                                'default_hooks.nonfinite.max_consecutive': 3})
    poison = PoisonOutputs([5, 6, 7, 8])
    runner = build_runner(cfg, [poison])
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert 'training stopped at iteration 7' in msg
    assert '3 consecutive steps had a non-finite loss' in msg
    assert len(poison.files) == 3
    for path in poison.files[-1]:
        assert path in msg
    assert f"{osp.join(work, 'iter_6.pth')!r}" in msg
    # The checkpoint saved during the streak holds the weights from before it.
    saved = safe_torch_load(osp.join(work, 'iter_6.pth'))['state_dict']
    first = safe_torch_load(osp.join(work, 'iter_3.pth'))
    assert all(torch.isfinite(v).all() for v in saved.values())
    assert not osp.exists(osp.join(work, 'iter_9.pth'))
    assert first['meta']['iter'] == 3


def test_nonfinite_guard_options_are_checked():
    from restorelab.engine.hooks import NonFiniteGuardHook, StopSignalHook
    with pytest.raises(ValueError, match='max_consecutive'):
        NonFiniteGuardHook(max_consecutive=0)
    with pytest.raises(ValueError, match='SIGHUP'):
        StopSignalHook(signals=('SIGHUP',))
