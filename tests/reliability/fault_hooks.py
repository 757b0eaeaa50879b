"""Test-only components for the interruption tests (imported by the runs through the
config's custom_imports): a hook that records what each rank trained on and how it
ended, and can make one rank hang, die, produce NaN outputs or validate and save
slowly; a transform that crashes its DataLoader worker and one that stops its worker
from yielding; and, when the environment asks for it, a rank that stalls before it
joins the process group."""
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
    for an hour before iteration ``hang_at`` (1-based; with ``hang_once`` only the
    first time: ``work_dir/hung_rank<R>`` marks it); with ``nan_rank``/``nan_at``
    (a list of 1-based iterations) that rank's arch outputs NaN in those iterations;
    with ``term_rank``/``term_at`` that rank sends itself SIGTERM during iteration
    ``term_at`` (as a preemption would); with ``kill_rank``/``kill_at`` that rank
    SIGKILLs itself during iteration ``kill_at`` of torchrun's start ``kill_restart``
    (default 0: the first start; ``work_dir/killed_rank<R>`` gets its pid first); with
    ``stall_data_rank``/``stall_data_at`` that rank creates ``work_dir/stall_data``
    before iteration ``stall_data_at``, which makes a ``StallDataOnce`` transform stop
    its worker; with ``slow_rank`` and
    ``slow_val_s``/``slow_save_s``, that rank spends that long on each validation
    batch / each chunk of the first checkpoint it writes (which gets ``slow_save_mb``
    MiB more, i.e. as many chunks more); ``work_dir/slow_val.json`` and
    ``slow_saves.jsonl`` record how long they took."""

    priority = 'HIGH'  # records an iteration before NonFiniteGuardHook may stop the run

    def __init__(self, hang_rank=None, hang_at=None, hang_once=False, nan_rank=None, nan_at=(),
                 term_rank=None, term_at=None, kill_rank=None, kill_at=None, kill_restart=0,
                 stall_data_rank=None, stall_data_at=None, slow_rank=0, slow_val_s=0,
                 slow_save_s=0, slow_save_mb=8):
        self.hang_rank = hang_rank
        self.hang_at = hang_at
        self.hang_once = hang_once
        self.kill_rank, self.kill_at, self.kill_restart = kill_rank, kill_at, kill_restart
        self.stall_data_rank, self.stall_data_at = stall_data_rank, stall_data_at
        self.slow_rank, self.slow_val_s = slow_rank, slow_val_s
        self.slow_save_s, self.slow_save_mb = slow_save_s, slow_save_mb
        self._padded = False
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
        if self.slow_save_s and get_rank() == self.slow_rank:
            _slow_checkpoint_writes(self.slow_save_s)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        step = runner.iter + 1
        if get_rank() == self.hang_rank and step == self.hang_at:
            marker = self._path(runner, 'hung_rank{rank}')
            if not (self.hang_once and osp.exists(marker)):
                open(marker, 'w').close()
                time.sleep(3600)
        if get_rank() == self.kill_rank and step == self.kill_at and \
                os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') == str(self.kill_restart):
            with open(self._path(runner, 'killed_rank{rank}'), 'w') as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        if get_rank() == self.stall_data_rank and step == self.stall_data_at:
            open(osp.join(runner.work_dir, 'stall_data'), 'a').close()
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

    def before_val(self, runner):
        self._val_start = time.monotonic()

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if self.slow_val_s and get_rank() == self.slow_rank:
            time.sleep(self.slow_val_s)

    def after_val_epoch(self, runner, metrics=None):
        if self.slow_val_s and get_rank() == self.slow_rank:
            with open(osp.join(runner.work_dir, 'slow_val.json'), 'w') as f:
                json.dump(dict(seconds=time.monotonic() - self._val_start), f)

    def before_save_checkpoint(self, runner, checkpoint):
        if self.slow_save_s and not self._padded:  # a larger first file: several slow chunks
            import torch
            checkpoint['padding'] = torch.zeros(self.slow_save_mb << 18)
            self._padded = True

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
    ``img_path`` to ``marker + '.crashed.<pid>'`` and kill the worker with ``signame``
    (as a decoder's segfault or the OOM killer would). Each worker writes its own file:
    several workers may die before the main process notices the first one."""

    def __init__(self, marker, signame='SIGSEGV'):
        self.marker = marker
        self.signum = getattr(signal, signame)

    def transform(self, results):
        from torch.utils.data import get_worker_info
        if get_worker_info() is not None and osp.exists(self.marker):
            with open(f'{self.marker}.crashed.{os.getpid()}', 'w') as f:
                f.write(results['img_path'])
            os.kill(os.getpid(), self.signum)
        return results


@TRANSFORMS.register_module()
class StallDataOnce(BaseTransform):
    """In a DataLoader worker of rank ``rank``, once ``work_dir/stall_data`` exists (see
    FaultHook's ``stall_data_at``) and for the first time only (``work_dir/stalled_data``
    marks it, with the worker's pid): stop yielding, by sleeping until the worker's main
    process is gone. Without ``work_dir`` it does nothing."""

    def __init__(self, work_dir=None, rank=1):
        self.work_dir = work_dir
        self.rank = rank

    def transform(self, results):
        from torch.utils.data import get_worker_info
        if (self.work_dir and get_worker_info() is not None
                and os.environ.get('RANK') == str(self.rank)
                and osp.exists(osp.join(self.work_dir, 'stall_data'))
                and not osp.exists(osp.join(self.work_dir, 'stalled_data'))):
            with open(osp.join(self.work_dir, 'stalled_data'), 'w') as f:
                f.write(str(os.getpid()))
            parent = os.getppid()
            while os.getppid() == parent:
                time.sleep(0.2)
        return results


def _slow_checkpoint_writes(seconds):
    """Each chunk of the next checkpoint written through restorelab's atomic writes takes
    ``seconds`` longer (a slow disk, for one save)."""
    import contextlib

    from restorelab.engine import atomic_io
    plain = atomic_io.atomic_output

    class SlowFile:
        def __init__(self, f):
            self._f = f

        def write(self, data):
            time.sleep(seconds)
            return self._f.write(data)

        def __getattr__(self, name):
            return getattr(self._f, name)

    @contextlib.contextmanager
    def slow_output(path, *args, **kwargs):
        if not path.endswith('.pth'):
            with plain(path, *args, **kwargs) as f:
                yield f
            return
        atomic_io.atomic_output = plain  # this save only
        start = time.monotonic()
        with plain(path, *args, **kwargs) as f:
            yield SlowFile(f)
        with open(osp.join(osp.dirname(path), 'slow_saves.jsonl'), 'a') as log:
            log.write(json.dumps(dict(file=osp.basename(path), seconds=time.monotonic() - start,
                                      bytes=os.path.getsize(path))) + '\n')

    atomic_io.atomic_output = slow_output


def _stall_before_joining():
    """With ``RESTORELAB_TEST_STALL_BEFORE_JOIN=RANK:RESTART[:MARKER]`` in the environment,
    that rank of that torchrun restart sleeps here (on importing this module, while the config
    is read, before the process group is joined) until the watchdog ends it, having created
    the file MARKER (when given)."""
    spec = os.environ.get('RESTORELAB_TEST_STALL_BEFORE_JOIN')
    if not spec:
        return
    rank, restart, *marker = spec.split(':', 2)
    if os.environ.get('RANK') == rank and \
            os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') == restart:
        if marker:
            open(marker[0], 'w').close()
        time.sleep(3600)


_stall_before_joining()
