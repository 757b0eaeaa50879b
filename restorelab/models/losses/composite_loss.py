"""The sum of several losses, for a recipe that trains with more than one (e.g. MPRNet's
Charbonnier + 0.05 x edge loss) through ImageRestorer's single ``pixel_loss``."""
import torch.nn as nn

from restorelab.registry import MODELS


@MODELS.register_module()
class CompositeLoss(nn.Module):
    """``sum_i loss_i(pred, target, weight)``, each loss built from its config with its own
    ``loss_weight``::

        pixel_loss=dict(type='CompositeLoss', losses=[
            dict(type='CharbonnierLoss'), dict(type='EdgeLoss', loss_weight=0.05)])
    """

    def __init__(self, losses):
        super().__init__()
        if not isinstance(losses, (list, tuple)) or not losses:
            raise ValueError(f'CompositeLoss: losses must be a non-empty list of loss configs, got {losses!r}')
        self.losses = nn.ModuleList(
            loss if isinstance(loss, nn.Module) else MODELS.build(loss) for loss in losses)

    @property
    def takes_inputs(self):
        """True when one of the losses needs the input batch (``inputs=``, see ImageRestorer)."""
        return any(getattr(loss, 'takes_inputs', False) for loss in self.losses)

    def forward(self, pred, target, weight=None, inputs=None):
        """``pred``, ``target``: ``(N, C, H, W)``; ``weight`` is passed to every loss, ``inputs`` (the
        input batch) to those whose ``takes_inputs`` is True."""
        total = 0
        for loss in self.losses:
            if getattr(loss, 'takes_inputs', False):
                total = total + loss(pred, target, weight, inputs=inputs)
            else:
                total = total + loss(pred, target, weight)
        return total
