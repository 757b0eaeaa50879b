"""A pixel loss summed over the outputs of every stage of a multi-stage arch.

Multi-stage deraining nets (RESCAN's recurrent stages, for instance) are trained on the
estimate of every stage, not only the last. Such an arch defines
``forward_stages(inputs) -> [out_1, ..., out_S]`` (``forward`` returns ``out_S``);
``ImageRestorer`` passes that list to a loss whose ``takes_stage_outputs`` is True.
"""
import numbers

import torch.nn as nn

from restorelab.registry import MODELS


@MODELS.register_module()
class MultiStageLoss(nn.Module):
    """``sum_s w_s * loss(out_s, target)`` over the stage outputs ``[out_1, ..., out_S]``.

    Args:
        loss: the pixel loss applied to each stage (config dict or module), e.g.
            ``dict(type='MSELoss')``.
        stage_weights: one weight per stage, first stage first; None weighs every stage 1.
            With weights the arch must give exactly that many stages.
    """

    takes_stage_outputs = True

    def __init__(self, loss, stage_weights=None):
        super().__init__()
        self.loss = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        if getattr(self.loss, 'takes_stage_outputs', False):
            raise ValueError('MultiStageLoss: loss must be a pixel loss of one output, '
                             f'got another {type(self.loss).__name__}')
        if stage_weights is not None:
            if not (isinstance(stage_weights, (list, tuple)) and stage_weights and all(
                    isinstance(w, numbers.Real) and not isinstance(w, bool) for w in stage_weights)):
                raise ValueError('MultiStageLoss: stage_weights must be a non-empty list of '
                                 f'numbers (one per stage) or None, got {stage_weights!r}')
            stage_weights = [float(w) for w in stage_weights]
        self.stage_weights = stage_weights

    def forward(self, preds, target):
        """``preds``: list of S tensors ``(N, C, H, W)``; ``target`` of the same shape."""
        if not isinstance(preds, (list, tuple)) or not preds:
            raise TypeError('MultiStageLoss: expected a non-empty list of stage outputs, got '
                            f'{type(preds).__name__}')
        weights = self.stage_weights or [1.0] * len(preds)
        if len(weights) != len(preds):
            raise ValueError(f'MultiStageLoss: {len(weights)} stage_weights for {len(preds)} '
                             'stage outputs; give one weight per stage')
        total = 0
        for weight, pred in zip(weights, preds):
            total = total + weight * self.loss(pred, target)
        return total

    def extra_repr(self):
        return f'stage_weights={self.stage_weights}'
