"""Progressive patch and batch sizes (Restormer's "progressive learning")."""
import bisect

from mmengine.hooks import Hook

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
    iteration and the training loop restarts its loader at each stage
    boundary (and on resume) to load exactly the patch and batch size of the
    stage. The sample stream goes on across boundaries (a stage starts with the
    sample after the previous stage's last), so a resumed run gets the batches
    an uninterrupted one does.

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
        loop = runner.train_loop
        if not getattr(loop, 'resumable', False):
            raise ValueError(
                'ProgressiveLearningHook needs restorelab\'s IterBasedTrainLoop reading '
                'restorelab\'s InfiniteSampler (train_cfg.type=\'IterBasedTrainLoop\' and '
                'train_dataloader.sampler.type=\'InfiniteSampler\' in the restorelab scope); '
                f'got {type(loop).__name__} with '
                f'{type(getattr(loop.dataloader, "sampler", None)).__name__}')
        self._stage = None
        self._apply(runner, self.stage_at(runner.iter), runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        # The loop fetches the next batch before calling any hook of the next
        # iteration: switch now (runner.iter is still this iteration's index).
        stage = self.stage_at(runner.iter + 1)
        if stage != self._stage:
            self._apply(runner, stage, runner.iter + 1)

    def _apply(self, runner, stage, next_iter):
        loop = runner.train_loop
        crops = _crop_transforms(loop.dataloader.dataset)
        if not crops:
            raise ValueError(
                'ProgressiveLearningHook found no transform with a patch_size in the training '
                'pipeline; add PairedRandomCrop to train_dataloader.dataset.pipeline')
        patch, batch = self.patch_sizes[stage], self.batch_sizes[stage]
        for t in crops:
            t.patch_size = (patch, patch)
        # The loop's stream goes on from the next sample, with new workers (the
        # current ones hold a copy of the dataset with the previous crop size).
        loop.restart_data(batch_size=batch)
        self._stage = stage
        runner.logger.info(f'progressive learning: stage {stage + 1}/{len(self._ends)} from '
                           f'iteration {next_iter}: patch {patch}, batch {batch} per process')
