"""SPANet's training loss: a pixel loss on the derained image plus the MSE between the arch's
attention map and the rain mask of the training pair.

The mask ``M`` is 1 where the rainy input differs from the clean image in any channel and 0
where they are equal: what SPANet's release computes as ``clip((O - B).sum(axis=2), 0, 1)`` on
its 8-bit crops (the uint8 difference wraps, so every differing channel adds at least 1 and
only equal pixels sum to 0). An arch trained with it defines
``forward_with_attention(inputs) -> (prediction, attention (N, 1, H, W))``; ``ImageRestorer``
passes both, and the inputs, to a loss whose ``takes_attention_map`` is True.
"""
import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS
from .utils import check_pair


def rain_mask(rainy, clean):
    """``(N, H, W)`` float mask: 1 where ``rainy`` and ``clean`` ``(N, C, H, W)`` differ in any
    channel, else 0."""
    return (rainy != clean).any(dim=1).to(rainy.dtype)


@MODELS.register_module()
class AttentionMaskLoss(nn.Module):
    """``loss(pred, target) + mask_weight * mean((attention[:, 0] - M)^2)`` with ``M`` the rain
    mask of ``(inputs, target)`` (module doc).

    Args:
        loss: the loss of the derained image (config dict or module), e.g. SPANet's
            ``CompositeLoss`` of L1 and SSIM.
        mask_weight: weight of the attention-map MSE (the release's 1).
    """

    takes_attention_map = True

    def __init__(self, loss, mask_weight=1.0):
        super().__init__()
        self.loss = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        if getattr(self.loss, 'takes_attention_map', False) or getattr(
                self.loss, 'takes_stage_outputs', False):
            raise ValueError('AttentionMaskLoss: loss must be a loss of one prediction, got '
                             f'{type(self.loss).__name__}')
        if isinstance(mask_weight, bool) or not isinstance(mask_weight, numbers.Real):
            raise ValueError(f'AttentionMaskLoss: mask_weight must be a number, got {mask_weight!r}')
        self.mask_weight = float(mask_weight)

    def forward(self, pred, target, attention, inputs):
        """``pred``, ``target``, ``inputs``: ``(N, 3, H, W)``; ``attention``: ``(N, 1, H, W)``."""
        check_pair('AttentionMaskLoss', pred, target)
        check_pair('AttentionMaskLoss', inputs, target)
        if not torch.is_tensor(attention) or attention.shape != (pred.shape[0], 1, *pred.shape[2:]):
            got = tuple(attention.shape) if torch.is_tensor(attention) else type(attention).__name__
            raise ValueError(f'AttentionMaskLoss: attention must be (N, 1, H, W) = '
                             f'{(pred.shape[0], 1, *pred.shape[2:])}, got {got}')
        mask_loss = F.mse_loss(attention[:, 0], rain_mask(inputs, target))
        return self.loss(pred, target) + self.mask_weight * mask_loss

    def extra_repr(self):
        return f'mask_weight={self.mask_weight}'
