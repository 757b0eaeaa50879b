"""Progressive patch and batch sizes (Restormer's "progressive learning")."""
import bisect
import copy

from mmengine.hooks import Hook
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from restorelab.registry import HOOKS


def _crop_transforms(dataset):
    """The transforms of ``dataset``'s pipeline that crop to ``patch_size``."""
    pipeline = getattr(dataset, 'pipeline', None)
    transforms = getattr(pipeline, 'transforms', [])
    return [t for t in transforms if hasattr(t, 'patch_size')]


@HOOKS.register_module()
class ProgressiveLearningHook(Hook):
    """Trains on larger patches with smaller batches as iterations pass.

    Restormer trains 300k iterations in stages of (92k, 64k, 48k, 36k, 36k,
    24k) iterations on patches (128, 160, 192, 256, 320, 384) with batches
    (8, 5, 4, 2, 1, 1) per GPU. Its release loads the largest batch at the
    largest patch and throws images away; here the stage is derived from the
    iteration and the training loader is rebuilt at each stage boundary
    (and on resume) to load exactly the patch and batch size of the stage.

    Args:
        stage_iters (list[int]): Iterations of each stage; the last stage
            also covers any iterations beyond their sum.
        patch_sizes (list[int]): Crop size of each stage; applied to every
            transform of the training pipeline with a ``patch_size``
            attribute (``PairedRandomCrop``), as a square ``(p, p)``.
        batch_sizes (list[int]): Batch size per process of each stage.
    """

    priority = 'NORMAL'

    def __init__(self, stage_iters, patch_sizes, batch_sizes):
        lengths = {len(stage_iters), len(patch_sizes), len(batch_sizes)}
        if len(lengths) != 1 or not stage_iters:
            raise ValueError(
                'ProgressiveLearningHook needs stage_iters, patch_sizes and batch_sizes of one '
                f'non-zero length; got {len(stage_iters)}, {len(patch_sizes)}, {len(batch_sizes)}')
        for name, values in (('stage_iters', stage_iters), ('patch_sizes', patch_sizes),
                             ('batch_sizes', batch_sizes)):
            if not all(isinstance(v, int) and v > 0 for v in values):
                raise ValueError(f'{name} must be positive ints, got {values}')
        self.stage_iters = list(stage_iters)
        self.patch_sizes = list(patch_sizes)
        self.batch_sizes = list(batch_sizes)
        self._ends = [sum(self.stage_iters[:i + 1]) for i in range(len(self.stage_iters))]
        self._stage = None

    def stage_at(self, iteration):
        """Index of the stage that iteration ``iteration`` (0-based) is in."""
        return min(bisect.bisect_right(self._ends, iteration), len(self._ends) - 1)

    def before_train(self, runner):
        self._stage = None
        stage = self.stage_at(runner.iter)
        # On resume mmengine skips `runner.iter` batches by loading them; the
        # stage's loader has only delivered `iter - stage start` of them, so
        # the skips before the stage start are answered without loading.
        stage_start = self._ends[stage - 1] if stage else 0
        self._apply(runner, stage, runner.iter, free_skips=min(runner.iter, stage_start))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        # The loop fetches the next batch before calling any hook of the next
        # iteration: switch now (runner.iter is still this iteration's index).
        stage = self.stage_at(runner.iter + 1)
        if stage != self._stage:
            self._apply(runner, stage, runner.iter + 1)

    def _apply(self, runner, stage, next_iter, free_skips=0):
        loop = runner.train_loop
        loader = loop.dataloader
        crops = _crop_transforms(loader.dataset)
        if not crops:
            raise ValueError(
                'ProgressiveLearningHook found no transform with a patch_size in the training '
                'pipeline; add PairedRandomCrop to train_dataloader.dataset.pipeline')
        patch, batch = self.patch_sizes[stage], self.batch_sizes[stage]
        for t in crops:
            t.patch_size = (patch, patch)
        # Always rebuild: the loop's iterator has already started workers
        # holding a copy of the dataset with the previous crop size.
        _shutdown_workers(loop.dataloader_iterator)
        loader = self._rebuild(loader, batch, stage)
        loop.dataloader = loader
        loop.dataloader_iterator = _SkippingIterator(_InfiniteDataloaderIterator(loader), free_skips)
        self._stage = stage
        runner.logger.info(f'progressive learning: stage {stage + 1}/{len(self._ends)} from '
                           f'iteration {next_iter}: patch {patch}, batch {batch} per process')

    @staticmethod
    def _rebuild(loader, batch_size, stage):
        """A loader like ``loader`` (same dataset, workers) with a new batch
        size; new workers see the dataset's updated crop size.

        The sampler is a fresh copy: an InfiniteSampler's index generator
        dies with the iterator that used it. Its seed is offset by the stage
        so that each stage starts a new permutation (the same on every rank).
        """
        sampler = copy.copy(loader.sampler)
        if hasattr(sampler, '_indices_of_rank') and hasattr(sampler, 'seed'):
            sampler.seed = getattr(loader.sampler, '_base_seed', loader.sampler.seed) + stage
            sampler._base_seed = getattr(loader.sampler, '_base_seed', loader.sampler.seed)
            sampler.indices = sampler._indices_of_rank()
        return DataLoader(
            loader.dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
            drop_last=loader.drop_last,
            worker_init_fn=loader.worker_init_fn,
            persistent_workers=loader.persistent_workers,
            generator=loader.generator,
        )


def _shutdown_workers(iterator):
    """Stop the worker processes behind a loop's iterator now rather than when
    it is garbage collected (which waits on their status checks)."""
    inner = getattr(iterator, '_iterator', None)  # _SkippingIterator
    inner = getattr(inner, '_iterator', inner)  # _InfiniteDataloaderIterator
    if hasattr(inner, '_shutdown_workers'):
        inner._shutdown_workers()


class _SkippingIterator:
    """Answers the first ``free`` ``next()`` calls with None, then delegates."""

    def __init__(self, iterator, free):
        self._iterator = iterator
        self._free = free

    def __iter__(self):
        return self

    def __next__(self):
        if self._free > 0:
            self._free -= 1
            return None
        return next(self._iterator)
