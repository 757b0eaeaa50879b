"""restorelab's iteration-based training loop: a resume that does not read the data again.

mmengine's ``IterBasedTrainLoop`` resumes at iteration N by loading and decoding the N
batches already trained (``loops.py``: "Advance dataloader N steps"), hours at N = 200k.
This loop, registered under the same name in the ``restorelab`` scope (configs write
``train_cfg = dict(type='IterBasedTrainLoop', ...)`` as before; mmengine's stays
reachable as ``'mmengine.IterBasedTrainLoop'``), reads the training data as a stream of
positions (:mod:`restorelab.datasets.samplers`): each iteration moves the stream
``batch size x processes`` positions on, checkpoints record the position (message hub
info ``train_data``), and a resumed run starts its loader at that position, a cost
independent of N. Every sample's augmentation is seeded from its position and the
model's randomness (dropout, drop path) from ``(iteration, rank)``, so the resumed run
trains on exactly the batches, crops and flips the uninterrupted run would have, on
every process.

It also turns the death of a DataLoader worker (a segfault in a decoder, the OOM
killer) into a :class:`~restorelab.utils.errors.DataLoaderWorkerError` naming the
worker, the files it had been given and the checkpoint to resume from.

With a sampler that cannot be entered at a position (anything but restorelab's
``InfiniteSampler``) the loop is mmengine's, replay included.

Gradient accumulation: with ``optim_wrapper.accumulative_counts = N`` (what
``total_batch_size`` with a smaller per-process batch sets, see
:func:`restorelab.engine.launch.apply_total_batch_size`) one iteration reads N batches, runs
a forward and backward pass on each and takes one optimizer step. An iteration stays one
optimizer step on ``batch x processes x N`` samples, so ``max_iters``, the learning-rate
schedule, validation and checkpoint intervals and EMA mean what they mean without
accumulation, and the samples of each iteration are those of the unaccumulated run (the
stream positions are the same). mmengine's own loop counts each batch as an iteration.
"""
import logging
import os.path as osp
import re
import signal

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.runner.base_loop import BaseLoop
from mmengine.runner.loops import IterBasedTrainLoop as MMEngineIterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmengine.runner.utils import calc_dynamic_intervals
from torch.utils.data import BatchSampler, DataLoader

from restorelab.datasets.samplers import PositionedStream, SeededSamples
from restorelab.registry import LOOPS
from .checkpoint import find_resume_checkpoint
from .watchdog import report_progress
from restorelab.utils.errors import DataLoaderWorkerError

# Message-hub info (saved in checkpoints): {'position': next global stream position,
# 'seed': the stream's seed}.
STREAM_STATE = 'train_data'

_CRASH_SIGNALS = ('SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT')


@LOOPS.register_module()
class IterBasedTrainLoop(MMEngineIterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` (same arguments) whose resume costs the same
    at every iteration; see the module doc."""

    def __init__(self, runner, dataloader, max_iters, val_begin=1, val_interval=1000,
                 dynamic_intervals=None):
        # mmengine's __init__ starts the loader's workers (and their first reads) at
        # once; the stream is started only when training starts, at its position.
        BaseLoop.__init__(self, runner, dataloader)
        self._max_iters = int(max_iters)
        if self._max_iters != max_iters:
            raise ValueError(f'train_cfg.max_iters must be an integer, got {max_iters!r}')
        self._max_epochs = 1
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.stop_training = False
        if hasattr(self.dataloader.dataset, 'metainfo'):
            self.runner.visualizer.dataset_meta = self.dataloader.dataset.metainfo
        self.dynamic_milestones, self.dynamic_intervals = calc_dynamic_intervals(
            self.val_interval, dynamic_intervals)

        sampler = getattr(self.dataloader, 'sampler', None)
        self.resumable = bool(getattr(sampler, 'resumable', False)) and \
            type(self.dataloader.batch_sampler) is BatchSampler
        self.sampler = sampler if self.resumable else None
        self.data_position = 0  # global stream position of the next sample to train on
        self._loader_start = (0, 0)  # (iteration, position) where the current loader began
        self.dataloader_iterator = None if self.resumable else \
            _InfiniteDataloaderIterator(self.dataloader)

    # ------------------------------------------------------------------ the stream
    @property
    def batch_size(self):
        """Samples per process in each iteration (of the loader in use)."""
        return self.dataloader.batch_size

    def restart_data(self, batch_size=None):
        """Read the stream from :attr:`data_position` on with ``batch_size`` samples per
        process (default: the current one). Workers of the previous loader stop now;
        new ones start with the first batch (and see the dataset as it is then, e.g.
        with a new crop size)."""
        if not self.resumable:
            raise RuntimeError('restart_data needs restorelab\'s InfiniteSampler as '
                               'train_dataloader.sampler')
        old = self.dataloader
        self._shutdown_workers()
        dataset = old.dataset if isinstance(old.dataset, SeededSamples) else SeededSamples(
            old.dataset)
        extra = dict(prefetch_factor=old.prefetch_factor) if old.num_workers > 0 else {}
        self.dataloader = DataLoader(
            dataset,
            batch_size=old.batch_size if batch_size is None else batch_size,
            sampler=PositionedStream(self.sampler, self.data_position),
            num_workers=old.num_workers,
            collate_fn=old.collate_fn,
            pin_memory=old.pin_memory,
            timeout=old.timeout,
            worker_init_fn=old.worker_init_fn,
            multiprocessing_context=old.multiprocessing_context,
            persistent_workers=old.persistent_workers,
            pin_memory_device=old.pin_memory_device,
            in_order=old.in_order,
            **extra)
        self.dataloader_iterator = None

    def _shutdown_workers(self):
        """Stop the worker processes of the current iterator now (rather than when it is
        garbage collected)."""
        iterator = self.dataloader_iterator
        if hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()
        self.dataloader_iterator = None

    def _next_batch(self):
        if not isinstance(self.dataloader.sampler, PositionedStream):
            self.restart_data()  # the loader as built from the config: start the stream
        if self.dataloader_iterator is None:
            self._loader_start = (self._iter, self.data_position)
            report_progress('data', self._iter + 1, detail='starting the DataLoader')
            self.dataloader_iterator = iter(self.dataloader)
        report_progress('data', self._iter + 1)
        batch = next(self.dataloader_iterator)
        self.data_position += self.batch_size * self.sampler.world_size
        self.runner.message_hub.update_info(
            STREAM_STATE, dict(position=self.data_position, seed=self.sampler.seed))
        return batch

    @property
    def accumulate(self):
        """Batches per iteration: the optim wrapper's ``accumulative_counts`` (1 without)."""
        wrapper = getattr(self.runner, 'optim_wrapper', None)
        return int(getattr(wrapper, '_accumulative_counts', 1) or 1)

    def _fetch(self):
        """The next batch of the training data (from the stream, or mmengine's iterator)."""
        return self._next_batch() if self.resumable else next(self.dataloader_iterator)

    def _start_accumulation(self):
        """Log the batch arithmetic; with accumulation, count the optim wrapper's
        micro-steps in batches (the Runner counted them in iterations)."""
        n = self.accumulate
        world = self.sampler.world_size if self.resumable else get_world_size()
        total = self.batch_size * world * n
        configured = self.runner.cfg.get('total_batch_size')
        note = f' (total_batch_size={configured})' if configured == total else ''
        print_log(f'per-process batch {self.batch_size} x {world} process{"es" if world > 1 else ""}'
                  f' x accumulate {n} = {total} samples per iteration{note}', logger='current',
                  level=logging.INFO)
        if n > 1:
            # The Runner set the counts to (iteration, max_iters) before this loop ran.
            self.runner.optim_wrapper.initialize_count_status(
                self.runner.model, self._iter * n, self._max_iters * n)
            if self._iter % n:
                print_log(f'resuming at iteration {self._iter}: mmengine\'s warning above that the '
                          'resumed iteration is not divisible by accumulative_counts does not apply '
                          'here (each iteration accumulates all its batches; no gradient is lost)',
                          logger='current', level=logging.INFO)

    def run_iter(self, data_batch):
        """One iteration: mmengine's, or with accumulation N, a forward and backward pass on
        ``data_batch`` and the next N - 1 batches and one optimizer step (the optim
        wrapper decides when to step and, under DDP, when to synchronise gradients). Hooks
        see the N batches merged and the losses averaged over them."""
        n = self.accumulate
        if n == 1:
            return super().run_iter(data_batch)
        batches = [data_batch] + [self._fetch() for _ in range(n - 1)]
        merged = _merge_batches(batches)
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=merged)
        outputs = [self.runner.model.train_step(batch, optim_wrapper=self.runner.optim_wrapper)
                   for batch in batches]
        outputs = {key: sum(_detached(out[key]) for out in outputs) / n for key in outputs[0]}
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=merged,
                              outputs=outputs)
        self._iter += 1

    def _restore_stream(self):
        """After a resume: the stream position and seed recorded in the checkpoint."""
        if self._iter == 0:
            return
        state = self.runner.message_hub.get_info(STREAM_STATE)
        if state is None:
            self.data_position = (self._iter * self.batch_size * self.sampler.world_size
                                  * self.accumulate)
            print_log(
                f'the checkpoint records no training-stream position (it was written without '
                f'restorelab\'s loop); continuing at position {self.data_position} = iteration '
                f'x batch size x processes, so the samples from here on are not the ones the '
                'original run would have used next', logger='current', level=logging.WARNING)
            return
        self.data_position = int(state['position'])
        if int(state['seed']) != self.sampler.seed:
            print_log(f'training stream seed {state["seed"]} restored from the checkpoint '
                      f'(this run drew {self.sampler.seed})', logger='current',
                      level=logging.INFO)
            self.sampler.seed = int(state['seed'])

    # ------------------------------------------------------------------ the loop
    def run(self):
        """Train from the current iteration (0, or the resumed one) to ``max_iters``."""
        self._start_accumulation()
        if not self.resumable:
            if self._iter > 0:
                replay = self._iter * self.accumulate
                print_log('train_dataloader.sampler is not restorelab\'s InfiniteSampler: '
                          f'resuming replays the {replay} batches already trained',
                          logger='current', level=logging.WARNING)
                for _ in range(replay - self._iter):  # mmengine's run replays the other _iter
                    next(self.dataloader_iterator)
            return super().run()
        self._restore_stream()
        try:
            self.runner.call_hook('before_train')
            self.runner.call_hook('before_train_epoch')
            if self._iter > 0:
                print_log(f'resuming at iteration {self._iter}: the training data continues at '
                          f'position {self.data_position} of its stream (the batches already '
                          'trained are not read again)', logger='current', level=logging.INFO)
            while self._iter < self._max_iters and not self.stop_training:
                self.runner.model.train()
                data_batch = self._next_batch()
                torch.manual_seed(self.sampler.model_seed(self._iter, get_rank()))
                self.run_iter(data_batch)
                self._decide_current_val_interval()
                if (self.runner.val_loop is not None and self._iter >= self.val_begin
                        and (self._iter % self.val_interval == 0
                             or self._iter == self._max_iters)):
                    self.runner.val_loop.run()
        except RuntimeError as err:
            explained = self.explain_worker_failure(err)
            if explained is None:
                raise
            self._shutdown_workers()
            raise explained from err
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    # ------------------------------------------------------------------ worker deaths
    def explain_worker_failure(self, err):
        """A :class:`DataLoaderWorkerError` for torch's "DataLoader worker ... exited
        unexpectedly / is killed by signal" error; None for any other error."""
        text = str(err)
        if 'DataLoader worker' not in text:
            return None
        iterator = self.dataloader_iterator
        workers = list(getattr(iterator, '_workers', None) or [])
        dead = [(wid, w) for wid, w in enumerate(workers) if w.exitcode not in (None, 0)]
        resume = self._resume_hint()
        if not dead:
            first = text.strip().splitlines()[0]
            return DataLoaderWorkerError(
                f'a DataLoader worker process died ({first}). {resume}')
        parts = []
        for wid, worker in dead:
            code = worker.exitcode
            how = (f'killed by {signal.Signals(-code).name}' if code < 0
                   else f'exited with status {code}')
            parts.append(f'DataLoader worker {wid} (pid {worker.pid}) of the training data'
                         f'{self._rank_text()} died ({how}). {self._pending_files(iterator, wid)}'
                         f' {self._signal_hint(code)}')
        return DataLoaderWorkerError(' '.join(parts) + f' {resume}')

    @staticmethod
    def _rank_text():
        return f' on rank {get_rank()}' if get_world_size() > 1 else ''

    def _pending_files(self, iterator, worker_id):
        """A sentence naming the files of the batches worker ``worker_id`` had been given
        and not delivered."""
        task_info = getattr(iterator, '_task_info', None) or {}
        pending = sorted(k for k, info in task_info.items()
                         if len(info) == 1 and info[0] == worker_id)
        if not pending:
            return 'It had no batch to load at that moment.'
        start_iter, start_pos = self._loader_start
        world, batch = self.sampler.world_size, self.batch_size
        dataset = self.dataloader.dataset
        batches = []
        for k in pending:
            files = []
            for j in range(batch):
                position = start_pos + self.sampler.rank + (k * batch + j) * world
                files.extend(_sample_files(dataset, self.sampler.index_at(position)))
            batches.append(f'iteration {start_iter + k // self.accumulate + 1} '
                           f'({", ".join(files)})')
        which = 'the batch' if len(batches) == 1 else 'the batches'
        return f'It was loading {which} of ' + ' and '.join(batches) + '.'


    @staticmethod
    def _signal_hint(code):
        if code == -signal.SIGKILL:
            return ('SIGKILL usually comes from the out-of-memory killer (the kernel log, '
                    '`dmesg`, says so): lower train_dataloader.num_workers or the batch size, '
                    'or give the job more memory.')
        if code < 0 and signal.Signals(-code).name in _CRASH_SIGNALS:
            return ('That is a crash in native code, most often an image decoder on a damaged '
                    'file: check these files (with train_dataloader.num_workers=0 the same '
                    'crash happens in the main process, under a debugger if needed).')
        return ''

    def _resume_hint(self):
        work_dir = self.runner.work_dir
        latest, _ = find_resume_checkpoint(work_dir)
        if latest is None:
            return (f'No checkpoint of this run is in {work_dir!r} yet: start it again once '
                    'the cause is fixed.')
        return (f'The newest complete checkpoint is {osp.abspath(latest)!r}: continue with '
                '`tools/train.py CONFIG --resume` once the cause is fixed.')


def _detached(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


def _merge_batches(batches):
    """The batches of one accumulated iteration as one (for hooks): a dict's lists and tuples
    concatenated, its tensors concatenated along the batch; anything else: the first batch."""
    first = batches[0]
    if not isinstance(first, dict):
        return first
    merged = {}
    for key, value in first.items():
        values = [batch[key] for batch in batches]
        if isinstance(value, (list, tuple)):
            merged[key] = [item for v in values for item in v]
        elif isinstance(value, torch.Tensor):
            merged[key] = torch.cat(values)
        else:
            merged[key] = value
    return merged


def _sample_files(dataset, index):
    """The file paths of dataset item ``index`` (its ``*_path`` fields)."""
    try:
        info = dataset.get_data_info(index)
    except Exception:  # noqa: BLE001 - only for the message
        return [f'dataset index {index}']
    paths = [str(v) for k, v in info.items() if re.fullmatch(r'\w*_path', k) and v]
    return list(dict.fromkeys(paths)) or [f'dataset index {index}']
