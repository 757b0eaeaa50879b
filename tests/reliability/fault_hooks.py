"""Test-only hook for the interruption tests (imported by the runs through the
config's custom_imports): records what each rank trained on and how it ended,
and can make one rank hang."""
import json
import os
import os.path as osp
import time

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook

from restorelab.registry import HOOKS


@HOOKS.register_module()
class FaultHook(Hook):
    """Appends ``{"iter", "keys"}`` per iteration to ``work_dir/keys_rank<R>.jsonl``,
    writes ``pid_rank<R>`` at start and ``end_rank<R>.json`` at the end; with
    ``hang_rank``/``hang_at`` that rank sleeps for an hour before iteration
    ``hang_at`` (1-based)."""

    def __init__(self, hang_rank=None, hang_at=None):
        self.hang_rank = hang_rank
        self.hang_at = hang_at

    def _path(self, runner, name):
        return osp.join(runner.work_dir, name.format(rank=get_rank()))

    def before_train(self, runner):
        with open(self._path(runner, 'pid_rank{rank}'), 'w') as f:
            f.write(str(os.getpid()))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if get_rank() == self.hang_rank and runner.iter + 1 == self.hang_at:
            time.sleep(3600)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        keys = [s.metainfo['key'] for s in data_batch['data_samples']]
        with open(self._path(runner, 'keys_rank{rank}.jsonl'), 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, keys=keys)) + '\n')

    def after_train(self, runner):
        import torch
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        flat = torch.cat([p.detach().flatten().double() for p in model.parameters()])
        report = dict(rank=get_rank(), world_size=get_world_size(), iter=runner.iter,
                      stop_signal=runner.message_hub.get_info('stop_signal'),
                      param_sum=flat.sum().item(), param_abs_sum=flat.abs().sum().item())
        with open(self._path(runner, 'end_rank{rank}.json'), 'w') as f:
            json.dump(report, f)
