"""Pixel-wise losses: L1, MSE, Charbonnier and the PSNR loss of HINet/BasicSR.

Every loss is called as ``loss(pred, target, weight=None)`` with ``pred`` and
``target`` of shape ``(N, C, H, W)`` and returns ``loss_weight`` times the
reduced loss ('mean' | 'sum' | 'none').
"""
import math

import torch
import torch.nn as nn

from restorelab.registry import MODELS
from .utils import check_loss_options, check_pair, weighted_reduce


class _PixelLoss(nn.Module):
    """Base of the element-wise losses: validation, weighting and reduction."""

    def __init__(self, loss_weight=1.0, reduction='mean'):
        super().__init__()
        check_loss_options(type(self).__name__, loss_weight, reduction)
        self.loss_weight = float(loss_weight)
        self.reduction = reduction

    def elementwise(self, pred, target):
        raise NotImplementedError

    def forward(self, pred, target, weight=None):
        """``pred``, ``target``: ``(N, C, H, W)``; ``weight`` broadcastable to them."""
        check_pair(type(self).__name__, pred, target, weight)
        loss = self.elementwise(pred, target)
        return self.loss_weight * weighted_reduce(loss, weight, self.reduction)

    def extra_repr(self):
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}'


@MODELS.register_module()
class L1Loss(_PixelLoss):
    """Mean absolute error ``|pred - target|``."""

    def elementwise(self, pred, target):
        return (pred - target).abs()


@MODELS.register_module()
class MSELoss(_PixelLoss):
    """Mean squared error ``(pred - target) ** 2``."""

    def elementwise(self, pred, target):
        return (pred - target).square()


@MODELS.register_module()
class CharbonnierLoss(_PixelLoss):
    """Charbonnier loss ``sqrt((pred - target) ** 2 + eps ** 2)``.

    The form and the default ``eps=1e-3`` of Restormer's and DRSformer's training
    code. mmagic's variant adds its ``eps`` unsquared (default 1e-12); its loss
    equals this one with ``eps=sqrt(its eps)``, e.g. ``eps=1e-6``.
    """

    def __init__(self, loss_weight=1.0, reduction='mean', eps=1e-3):
        super().__init__(loss_weight, reduction)
        if not (isinstance(eps, (int, float)) and eps >= 0):
            raise ValueError(f'{type(self).__name__}: eps must be a number >= 0, got {eps!r}')
        self.eps = float(eps)

    def elementwise(self, pred, target):
        diff = pred - target
        return torch.sqrt(diff * diff + self.eps * self.eps)

    def extra_repr(self):
        return super().extra_repr() + f', eps={self.eps}'


@MODELS.register_module()
class PSNRLoss(nn.Module):
    """Negative PSNR as HINet/NAFNet (BasicSR) train with it, per image.

    ``loss_i = 10 / ln(10) * ln(mse_i + 1e-8)`` = ``10 * log10(mse_i + 1e-8)``
    where ``mse_i`` is image i's mean over ``(C, H, W)`` (weighted mean with
    ``weight``); 'mean' averages over the batch, 'sum' adds, 'none' returns
    shape ``(N,)``. ``toY=True`` first maps RGB in [0, 1] to BT.601 luma
    ``(65.481 R + 128.553 G + 24.966 B + 16) / 255``, as BasicSR does.
    """

    EPS = 1e-8

    def __init__(self, loss_weight=1.0, reduction='mean', toY=False):
        super().__init__()
        check_loss_options('PSNRLoss', loss_weight, reduction)
        if not isinstance(toY, bool):
            raise ValueError(f'PSNRLoss: toY must be True or False, got {toY!r}')
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        self.toY = toY
        self.scale = 10.0 / math.log(10.0)
        # Not saved with the model: a constant, not a parameter.
        self.register_buffer(
            'y_coef', torch.tensor([65.481, 128.553, 24.966]).reshape(1, 3, 1, 1), persistent=False)

    def _to_y(self, img):
        if img.shape[1] != 3:
            raise ValueError(f'PSNRLoss(toY=True) needs 3-channel RGB input, got {tuple(img.shape)}')
        return ((img * self.y_coef.to(img.dtype)).sum(dim=1, keepdim=True) + 16.0) / 255.0

    def forward(self, pred, target, weight=None):
        """``pred``, ``target``: ``(N, C, H, W)``; ``weight`` broadcastable to them
        (with ``toY``, to ``(N, 1, H, W)``)."""
        check_pair('PSNRLoss', pred, target, weight if not self.toY else None)
        if self.toY:
            pred, target = self._to_y(pred), self._to_y(target)
            if weight is not None:
                check_pair('PSNRLoss', pred, target, weight)
        sq = (pred - target).square()
        if weight is None:
            mse = sq.mean(dim=(1, 2, 3))
        else:
            weight = weight.to(sq.dtype).expand_as(sq)
            mse = (sq * weight).sum(dim=(1, 2, 3)) / weight.sum(dim=(1, 2, 3)).clamp_min(1e-12)
        loss = self.scale * torch.log(mse + self.EPS)
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss

    def extra_repr(self):
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}, toY={self.toY}'
