"""Test-only components for the interruption tests (imported by the runs through the
config's custom_imports): a hook that records what each rank trained on and how it
ended, and can make one rank hang or produce NaN outputs; a transform that crashes
its DataLoader worker."""
import json
import os
import os.path as osp
import signal
import time

from mmcv.transforms import BaseTransform
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook

from restorelab.registry import HOOKS, TRANSFORMS


def _param_sums(runner):
    import torch
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    flat = torch.cat([p.detach().flatten().double() for p in model.parameters()])
    return flat.sum().item(), flat.abs().sum().item()


@HOOKS.register_module()
class FaultHook(Hook):
    """Appends ``{"iter", "keys", "param_sum"}`` per iteration to
    ``work_dir/keys_rank<R>.jsonl``, writes ``pid_rank<R>`` at start and
    ``end_rank<R>.json`` at the end. With ``hang_rank``/``hang_at`` that rank sleeps
    for an hour before iteration ``hang_at`` (1-based); with ``nan_rank``/``nan_at``
    (a list of 1-based iterations) that rank's arch outputs NaN in those iterations;
    with ``term_rank``/``term_at`` that rank sends itself SIGTERM during iteration
    ``term_at`` (as a preemption would)."""

    priority = 'HIGH'  # records an iteration before NonFiniteGuardHook may stop the run

    def __init__(self, hang_rank=None, hang_at=None, nan_rank=None, nan_at=(), term_rank=None,
                 term_at=None):
        self.hang_rank = hang_rank
        self.hang_at = hang_at
        self.term_rank = term_rank
        self.term_at = term_at
        self.nan_rank = nan_rank
        self.nan_at = set(nan_at)
        self._handle = None

    def _path(self, runner, name):
        return osp.join(runner.work_dir, name.format(rank=get_rank()))

    def before_train(self, runner):
        with open(self._path(runner, 'pid_rank{rank}'), 'w') as f:
            f.write(str(os.getpid()))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        step = runner.iter + 1
        if get_rank() == self.hang_rank and step == self.hang_at:
            time.sleep(3600)
        if get_rank() == self.term_rank and step == self.term_at:
            os.kill(os.getpid(), signal.SIGTERM)
        if get_rank() == self.nan_rank and step in self.nan_at:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            self._handle = model.arch.register_forward_hook(
                lambda module, args, out: out * float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        keys = [s.metainfo['key'] for s in data_batch['data_samples']]
        with open(self._path(runner, 'keys_rank{rank}.jsonl'), 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, keys=keys,
                                    param_sum=_param_sums(runner)[0])) + '\n')

    def after_train(self, runner):
        param_sum, param_abs_sum = _param_sums(runner)
        report = dict(rank=get_rank(), world_size=get_world_size(), iter=runner.iter,
                      stop_signal=runner.message_hub.get_info('stop_signal'),
                      param_sum=param_sum, param_abs_sum=param_abs_sum)
        with open(self._path(runner, 'end_rank{rank}.json'), 'w') as f:
            json.dump(report, f)


@TRANSFORMS.register_module()
class CrashWorkerAfter(BaseTransform):
    """In a DataLoader worker, once the file ``marker`` exists: write the sample's
    ``img_path`` to ``marker + '.crashed'`` and kill the worker with ``signame``
    (as a decoder's segfault or the OOM killer would)."""

    def __init__(self, marker, signame='SIGSEGV'):
        self.marker = marker
        self.signum = getattr(signal, signame)

    def transform(self, results):
        from torch.utils.data import get_worker_info
        if get_worker_info() is not None and osp.exists(self.marker):
            with open(self.marker + '.crashed', 'w') as f:
                f.write(results['img_path'])
            os.kill(os.getpid(), self.signum)
        return results
