"""The progress watchdog in a Runner: each step reports its progress to this process's watchdog
(:mod:`restorelab.engine.watchdog`)."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from restorelab.registry import HOOKS

from .. import watchdog


@HOOKS.register_module()
class WatchdogHook(Hook):
    """Report training, validation, testing and checkpoint progress to this process's
    watchdog, which ends a run that stops making progress (see
    :mod:`restorelab.engine.watchdog`).

    The tools start the watchdog before the Runner exists (to watch the rendezvous too); code
    that runs a Runner itself starts one with ``restorelab.engine.watchdog.watching()`` around
    it (without one, the reports cost nothing and nothing is watched). This hook sets the
    watchdog's timeout (when given) and its log: the run's log file. Under DDP, with a
    watchdog, the gradient all-reduce is run by a communication hook that first records the
    'collective' phase (the same all-reduce as DDP's own).

    Args:
        timeout (float | None): ``watchdog_timeout``: seconds without progress that end the
            run; None derives it from the iteration time, 0 switches the watchdog off.
    """

    priority = 'VERY_HIGH'  # a step's progress is recorded before the other hooks run

    def __init__(self, timeout=None):
        self.timeout = watchdog.check_timeout(timeout)
        self._dog = _Unwatched()

    def before_run(self, runner):
        dog = watchdog.current_watchdog()
        if dog is None:
            self._dog = _Unwatched()
            return
        if self.timeout is not None:
            dog.configure(timeout=self.timeout)
        dog.configure(log_file=osp.join(runner.log_dir, f'{runner.timestamp}.log'),
                      work_dir=runner.work_dir)
        self._dog = dog
        dog.report('start-up', detail='the run begins')

    def before_train(self, runner):
        if isinstance(self._dog, watchdog.Watchdog):
            self._watch_gradient_allreduce(runner.model, runner)
        self._dog.report('start-up', detail='training begins')

    @staticmethod
    def _watch_gradient_allreduce(model, runner):
        from torch.nn.parallel import DistributedDataParallel
        if not isinstance(model, DistributedDataParallel):
            return
        try:
            model.register_comm_hook(None, watchdog.reporting_allreduce_hook)
        except RuntimeError as err:  # a hook of the config's own: its phase stays forward/backward
            runner.logger.info(f'WatchdogHook: DDP already has a communication hook ({err}); '
                               'the gradient all-reduce is reported as forward/backward')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._dog.report('forward/backward', runner.iter + 1)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._dog.iteration_done()
        self._dog.report('data', runner.iter + 2)

    def before_val(self, runner):
        # During training: the iteration validated (runner.iter iterations are done).
        self._dog.report('evaluation', runner.iter if runner.iter else None,
                         detail='validation begins')

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._dog.report('evaluation', detail=f'validation batch {batch_idx + 1}')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._dog.report('evaluation', detail=f'validation batch {batch_idx + 1} done')

    def after_val_epoch(self, runner, metrics=None):
        self._dog.report('evaluation', detail='validation done')

    def before_test(self, runner):
        self._dog.report('evaluation', detail='testing begins')

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._dog.report('evaluation', detail=f'test batch {batch_idx + 1}')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._dog.report('evaluation', detail=f'test batch {batch_idx + 1} done')

    def after_test_epoch(self, runner, metrics=None):
        self._dog.report('evaluation', detail='testing done')

    def before_save_checkpoint(self, runner, checkpoint):
        self._dog.report('checkpoint', detail='saving')

    def after_load_checkpoint(self, runner, checkpoint):
        self._dog.report('checkpoint', detail='loaded')

    def after_run(self, runner):
        if isinstance(self._dog, watchdog.Watchdog) and is_main_process():
            runner.logger.info(self._dog.summary())


class _Unwatched:
    """Stands in for the watchdog when none runs: reports go nowhere."""

    def report(self, *args, **kwargs):
        pass

    def iteration_done(self):
        pass
