"""Hooks that make a training run stop cleanly: on a signal, on diverging
losses, and before weights that do not fit the model are loaded."""
import os
import os.path as osp
import re
import signal
import threading
import time

import torch
import torch.distributed as dist
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from restorelab.registry import HOOKS
from restorelab.utils.errors import CheckpointMismatchError, NonFiniteLossError
from restorelab.utils.state_dicts import state_dict_mismatch

from ..watchdog import report_progress

_SIGNALS = {'SIGTERM': signal.SIGTERM, 'SIGINT': signal.SIGINT}


def _distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _all_ranks_max(value):
    """The largest ``value`` (an int) over the processes: one gloo/nccl all_reduce."""
    if not _distributed():
        return int(value)
    report_progress('collective', detail='stop-signal all-reduce')
    device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
    t = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def _all_ranks_values(value):
    """``value`` (an int) of every process, in rank order: one all_gather."""
    if not _distributed():
        return [int(value)]
    report_progress('collective', detail='non-finite-step all-gather')
    device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
    mine = torch.tensor([int(value)], dtype=torch.int64, device=device)
    values = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(values, mine)
    return [int(v.item()) for v in values]


def _all_ranks_objects(obj):
    """``obj`` (picklable) of every process, in rank order."""
    if not _distributed():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _checkpoint_hook(runner):
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            return hook
    return None


@HOOKS.register_module()
class StopSignalHook(Hook):
    """Save a checkpoint and stop training on SIGTERM or SIGINT.

    The handler only records the signal; after the current iteration every
    process takes the largest recorded signal over all ranks (one all_reduce
    of one integer per iteration), so all ranks stop at the same iteration
    even when only one of them was signalled. Then the checkpoint of that
    iteration is saved through the CheckpointHook (unless it has just saved
    it), the evaluation due at that iteration is skipped (a preemption
    leaves little time), and the loop ends; ``runner.message_hub`` holds
    ``stop_signal`` (the signal's name), ``stop_iter`` and ``stop_checkpoint``
    (the file saved). A second signal while stopping ends the process at once;
    under torchrun, not within ``REPEAT_WINDOW`` seconds of the first: a
    scheduler signals every process of a job and torchrun forwards the signal
    it got too, so one stop often arrives twice (a user's Ctrl-C reaches
    torchrun, not the processes).

    Args:
        signals (sequence of str): the signals to handle.
    """

    priority = 'LOWEST'  # after CheckpointHook, to know whether it saved
    REPEAT_WINDOW = 10.0

    def __init__(self, signals=('SIGTERM', 'SIGINT')):
        unknown = [s for s in signals if s not in _SIGNALS]
        if unknown:
            raise ValueError(f'StopSignalHook: unknown signals {unknown}; choose from {sorted(_SIGNALS)}')
        self.signals = tuple(signals)
        self.received = 0
        self._received_at = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received:
            if os.environ.get('TORCHELASTIC_RUN_ID') and \
                    time.monotonic() - self._received_at < self.REPEAT_WINDOW:
                return  # the same stop, delivered twice
            # Second signal: the default action (terminate / KeyboardInterrupt).
            self._restore()
            signal.raise_signal(signum)
            return
        self.received = signum
        self._received_at = time.monotonic()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def before_train(self, runner):
        self.received = 0
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning('StopSignalHook: not in the main thread, signals not handled')
            return
        for name in self.signals:
            signum = _SIGNALS[name]
            self._previous[signum] = signal.signal(signum, self._handle)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        signum = _all_ranks_max(self.received)
        if not signum:
            return
        name = signal.Signals(signum).name
        step = runner.iter + 1
        ckpt = _checkpoint_hook(runner)
        runner.logger.warning(f'{name} received: saving a checkpoint at iteration {step} and stopping')
        if ckpt is not None:
            done = ckpt.last_ckpt is not None and str(ckpt.last_ckpt).endswith(
                ckpt.filename_tmpl.format(step)) and not ckpt.by_epoch
            if not done:
                meta = dict(epoch=runner.epoch, iter=step)
                ckpt._save_checkpoint_with_step(runner, step, meta)
            saved = ckpt.last_ckpt
        else:
            runner.save_checkpoint(runner.work_dir, f'iter_{step}.pth',
                                   meta=dict(epoch=runner.epoch, iter=step))
            saved = osp.join(runner.work_dir, f'iter_{step}.pth')
        loop = runner.train_loop
        loop.stop_training = True
        if hasattr(loop, 'val_begin'):
            loop.val_begin = float('inf')
        runner.message_hub.update_info('stop_signal', name)
        runner.message_hub.update_info('stop_iter', step)
        runner.message_hub.update_info('stop_checkpoint', str(saved))

    def after_train(self, runner):
        self._restore()

    def after_run(self, runner):
        self._restore()


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Skip optimizer steps whose loss or gradients are not finite.

    The runner's optim wrapper gets a guarded ``update_params``: the backward
    pass runs as usual (every DDP rank must take part in it), then, when the
    loss or any gradient is NaN/inf on any rank, the gradients are dropped
    instead of applied on every rank (one all_gather of a flag per step), so
    the processes keep identical weights. With a loss scaler (fp16 AMP on
    GPUs) only the loss is checked: the scaler already skips steps whose
    scaled gradients overflow. After ``max_consecutive`` such steps in a row
    every process stops at the same iteration with :class:`NonFiniteLossError`
    (printed once by the tools) naming the iteration, the ranks and batch files
    (``img_path``) where it happened and the last checkpoint; no non-finite
    step was ever applied, so every checkpoint on disk holds finite weights.

    Args:
        max_consecutive (int): consecutive skipped steps that stop the run.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, max_consecutive=5):
        if not isinstance(max_consecutive, int) or max_consecutive < 1:
            raise ValueError(f'NonFiniteGuardHook: max_consecutive must be a positive int, got '
                             f'{max_consecutive!r}')
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.skipped = 0
        self.bad_this_iter = False
        self.last_bad = None  # {rank: (what, loss, files)} of the last skipped step
        self._pending_bad = False
        self._files = []

    def before_train(self, runner):
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, OptimWrapper):
            runner.logger.warning(f'NonFiniteGuardHook: {type(wrapper).__name__} is not a single '
                                  'OptimWrapper; non-finite steps are not guarded')
            return
        wrapper.update_params = self._guarded(wrapper)

    def _guarded(self, wrapper):
        hook = self

        def update_params(loss, step_kwargs=None, zero_kwargs=None):
            bad_loss = not bool(torch.isfinite(loss.detach()).all())
            wrapper.backward(wrapper.scale_loss(loss))
            if not wrapper.should_update():
                hook._pending_bad = hook._pending_bad or bad_loss
                return
            bad_loss = bad_loss or hook._pending_bad
            hook._pending_bad = False
            bad_grad = False
            if getattr(wrapper, 'loss_scaler', None) is None:
                grads = [p.grad for group in wrapper.optimizer.param_groups
                         for p in group['params'] if p.grad is not None]
                if grads:
                    bad_grad = not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all())
            flags = _all_ranks_values(int(bad_loss) | (int(bad_grad) << 1))
            hook.bad_this_iter = any(flags)
            if hook.bad_this_iter:
                # Rare: what each bad rank saw, for the message (every rank takes part).
                mine = (_what(flags[dist.get_rank() if _distributed() else 0]),
                        float(loss.detach().float().sum()), hook._files)
                hook.last_bad = {rank: info for rank, info in
                                 enumerate(_all_ranks_objects(mine)) if flags[rank]}
                wrapper.zero_grad(**(zero_kwargs or {}))
                hook.consecutive += 1
                hook.skipped += 1
            else:
                wrapper.step(**(step_kwargs or {}))
                wrapper.zero_grad(**(zero_kwargs or {}))
                hook.consecutive = 0

        return update_params

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        samples = data_batch.get('data_samples') or [] if isinstance(data_batch, dict) else []
        self._files = [s.metainfo.get('img_path', '?') for s in samples if hasattr(s, 'metainfo')]

    def _where(self):
        """What was non-finite, where: per bad rank (ranks named in distributed runs)."""
        parts = []
        for rank, (what, loss, files) in sorted(self.last_bad.items()):
            on = f' on rank {rank}' if _distributed() else ''
            parts.append(f'{what}{on} (loss {loss}; batch: '
                         f'{", ".join(files) or "no img_path in the batch"})')
        return '; '.join(parts)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        step = runner.iter + 1
        if not self.bad_this_iter:
            return
        self.bad_this_iter = False
        runner.message_hub.update_scalar('train/skipped_steps', self.skipped)
        runner.logger.warning(
            f'iteration {step}: non-finite {self._where()}; the step was not applied '
            f'({self.consecutive} in a row, stop at {self.max_consecutive})')
        if self.consecutive >= self.max_consecutive:
            ckpt = _checkpoint_hook(runner)
            last = getattr(ckpt, 'last_ckpt', None)
            kept = (f'The last checkpoint, {last!r}, holds finite weights (no non-finite step was '
                    'applied).' if last else 'No checkpoint was saved before.')
            procs = ' on every process' if _distributed() else ''
            raise NonFiniteLossError(
                f'training stopped{procs} at iteration {step}: {self.consecutive} consecutive '
                f'steps had a non-finite loss or gradient (NaN/inf), none of them applied; the '
                f'last: {self._where()}. {kept} Check these images, lower the learning rate or '
                'enable gradient clipping (optim_wrapper.clip_grad), then resume with '
                '`tools/train.py CONFIG --resume`; raise '
                'default_hooks.nonfinite.max_consecutive to tolerate longer streaks.')


def _what(flags):
    """'loss', 'gradient' or 'loss and gradient' for a rank's flag bits (1 loss, 2 grad)."""
    return {0: 'nothing', 1: 'loss', 2: 'gradient', 3: 'loss and gradient'}[flags]


def _strip_module(key):
    return re.sub(r'^module\.', '', key)


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Refuse a checkpoint whose weights do not fit the model before loading it.

    mmengine loads ``load_from`` with ``strict=False``: missing, unexpected
    and mis-shaped weights only give a warning and the run goes on with a
    half-initialised model. restorelab refuses such a checkpoint (for
    ``load_from``, ``--resume`` and ``tools/test.py``) with a message listing
    the missing and unexpected keys and the shape mismatches.

    Args:
        allow_partial (bool): load what fits anyway (mmengine's behaviour),
            e.g. to fine-tune from a model with another head.
    """

    priority = 'HIGHEST'
    SHOW = 5

    def __init__(self, allow_partial=False):
        self.allow_partial = bool(allow_partial)

    def after_load_checkpoint(self, runner, checkpoint):
        if self.allow_partial:
            return
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        problems = state_dict_mismatch(
            model.state_dict(), {_strip_module(k): v for k, v in (state or {}).items()}
            if isinstance(state, dict) else {})
        if problems:
            source = runner._load_from if isinstance(getattr(runner, '_load_from', None), str) else 'the checkpoint'
            raise CheckpointMismatchError(
                f'{source!r} does not fit the model built from the config '
                f'({type(model).__name__} with arch {type(getattr(model, "arch", model)).__name__}): '
                f'{problems}. Check that config and checkpoint belong together (another model or '
                'another size?); an official release must first be converted with '
                '`python tools/convert_checkpoint.py MODEL IN.pth OUT.pth`. To load only the '
                'weights that fit, set default_hooks.checkpoint_fit.allow_partial=True.')

