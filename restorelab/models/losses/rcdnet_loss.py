"""RCDNet's loss: mean squared errors of every stage's background and rain-layer estimates."""
import torch.nn as nn

from restorelab.registry import MODELS
from .utils import check_loss_options


def _mse(pred, target):
    return (pred.float() - target.float()).square().mean()


@MODELS.register_module()
class RCDNetLoss(nn.Module):
    """The loss of RCDNet's release (hongwang01/RCDNet ``for_syn/src/trainer.py``, its "fixed"
    version of 2022-09-19; the paper's Eq. (12) with the same weights), on the estimates of
    :meth:`restorelab.models.archs.RCDNet.forward_stages` for a rainy ``O`` with background
    ``B`` (``rain = O - B``)::

        loss_weight * ( stage_weight * [ mse(B^(0), B) + sum_{s=1..S} mse(B^(s), B)
                                         + sum_{s=1..S} mse(R^(s), rain) ]
                        + final_weight * mse(output, B)
                        + (final_weight - stage_weight) * mse(R^(S), rain) )

    i.e. 0.1 for every intermediate estimate and 1 for the output and the last rain layer
    (the release adds ``0.9 * mse(R^(S))`` to the ``0.1`` of its stage sum). ``mse`` is the
    mean over every element. The release computes on pixel values in [0, 255]: its loss is
    this one with ``loss_weight = 255 ** 2`` on [0, 1] images, which is what the configs set.

    Called by ``ImageRestorer`` as ``loss(stages, target, inputs)`` with ``stages`` the dict of
    ``forward_stages`` (``takes_stage_outputs``); ``target`` and ``inputs`` ``(N, 3, H, W)``.
    """

    takes_stage_outputs = True

    def __init__(self, loss_weight=1.0, stage_weight=0.1, final_weight=1.0):
        super().__init__()
        check_loss_options(type(self).__name__, loss_weight, 'mean')
        for name, value in (('stage_weight', stage_weight), ('final_weight', final_weight)):
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f'RCDNetLoss: {name} must be a number >= 0, got {value!r}')
        self.loss_weight = float(loss_weight)
        self.stage_weight = float(stage_weight)
        self.final_weight = float(final_weight)

    def forward(self, stages, target, inputs):
        missing = [k for k in ('B0', 'B', 'R') if k not in stages]
        if missing:
            raise ValueError(f'RCDNetLoss: the stage outputs lack {missing}; expected the dict of '
                             'RCDNet.forward_stages (B0, B, R)')
        backgrounds, rain_layers = stages['B'], stages['R']
        rain = inputs.float() - target.float()
        intermediate = (_mse(stages['B0'], target)
                        + sum(_mse(b, target) for b in backgrounds[:-1])
                        + sum(_mse(r, rain) for r in rain_layers))
        final = _mse(backgrounds[-1], target)
        last_rain = _mse(rain_layers[-1], rain)
        loss = (self.stage_weight * intermediate + self.final_weight * final
                + (self.final_weight - self.stage_weight) * last_rain)
        return self.loss_weight * loss

    def extra_repr(self):
        return (f'loss_weight={self.loss_weight}, stage_weight={self.stage_weight}, '
                f'final_weight={self.final_weight}')
