"""The release's per-epoch learning rate (train.py of cschenxiang/NeRD-Rain, and of MPRNet/DeepRFT
before it): ``GradualWarmupScheduler(multiplier=1, total_epoch=warmup, after_scheduler=
CosineAnnealingLR(T_max=epochs - warmup, eta_min))``, stepped after every epoch and not before the
first one. mmengine's chained LinearLR cannot start from 0, which the release's first epoch uses, so
the schedule is written here in closed form.
"""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from restorelab.registry import PARAM_SCHEDULERS


class WarmupCosineParamScheduler(_ParamScheduler):
    """At 0-based step (epoch) ``e``: ``base * e / warmup`` for ``e <= warmup`` (so 0 at the first
    epoch), then ``eta_min + (base - eta_min) * (1 + cos(pi * (e - warmup - 1) / T_max)) / 2``
    (``base`` again at ``e = warmup + 1``, the cosine's first value)."""

    def __init__(self, optimizer, param_name, warmup, T_max, eta_min=0.0, begin=0, end=int(1e9),  # noqa: N803
                 last_step=-1, by_epoch=True, verbose=False):
        if not (isinstance(warmup, int) and warmup >= 1):
            raise ValueError(f'warmup must be an int >= 1, got {warmup!r}')
        if not T_max > 0:
            raise ValueError(f'T_max must be > 0, got {T_max!r}')
        self.warmup, self.T_max, self.eta_min = warmup, T_max, eta_min
        super().__init__(optimizer, param_name, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self):
        e = self.last_step
        if e <= self.warmup:
            return [base * e / self.warmup for base in self.base_values]
        t = e - self.warmup - 1
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
                for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class WarmupCosineLR(LRSchedulerMixin, WarmupCosineParamScheduler):
    """:class:`WarmupCosineParamScheduler` of the learning rate."""
