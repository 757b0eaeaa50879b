"""Learning-rate schedules of releases that mmengine's schedulers do not express."""
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from restorelab.registry import PARAM_SCHEDULERS


class ExponentialDecayToFloorParamScheduler(_ParamScheduler):
    """``floor + (base - floor) * decay_rate ** (step / decay_steps)``, ``base`` being the
    optimizer's initial value: TensorFlow's ``exponential_decay(base - floor, step, decay_steps,
    decay_rate, staircase=False) + floor`` (MSPFN's schedule, with floor 1e-6), counted from
    ``begin``. Computed in closed form at every step (resuming lands on the same value)."""

    def __init__(self, optimizer, param_name, decay_rate, decay_steps, floor=0.0, begin=0,
                 end=int(1e9), last_step=-1, by_epoch=True, verbose=False):
        if not 0 < decay_rate:
            raise ValueError(f'decay_rate must be > 0, got {decay_rate}')
        if not decay_steps > 0:
            raise ValueError(f'decay_steps must be > 0, got {decay_steps}')
        self.decay_rate, self.decay_steps, self.floor = decay_rate, decay_steps, floor
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self):
        factor = self.decay_rate ** (self.last_step / self.decay_steps)
        return [self.floor + (base - self.floor) * factor for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class ExponentialDecayToFloorLR(LRSchedulerMixin, ExponentialDecayToFloorParamScheduler):
    """:class:`ExponentialDecayToFloorParamScheduler` of the learning rate."""
