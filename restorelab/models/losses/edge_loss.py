"""Edge losses: the Charbonnier distance between the Laplacians of prediction and target.

Two releases train with one, each with its own Laplacian (the losses differ, hence two classes):

- :class:`EdgeLoss`, MPRNet's (swz30/MPRNet ``losses.py``, ``EdgeLoss``): the first level of a
  Laplacian pyramid (5-tap blur, replicated borders, decimation and re-expansion); MPRNet
  trains with it at weight 0.05 beside the Charbonnier loss.
- :class:`Laplacian3x3EdgeLoss`, MSPFN's (kuijiang94/MSPFN ``model/MSPFN.py``,
  ``MODEL.Laplacian`` in ``inference_losses``): the 3x3 eight-neighbour Laplacian filter, zero
  ('SAME') padding; MSPFN trains with it at weight 0.05 beside the Charbonnier loss too.
"""
import torch
import torch.nn.functional as F

from restorelab.registry import MODELS
from .pixel_losses import CharbonnierLoss

# The 5-tap binomial-like filter of Burt and Adelson's Laplacian pyramid, as MPRNet uses it.
PYRAMID_TAPS = (0.05, 0.25, 0.4, 0.25, 0.05)


def pyramid_kernel():
    """The ``(5, 5)`` float32 kernel: the outer product of :data:`PYRAMID_TAPS` computed in
    float32, as the release builds it (``k.t() @ k``)."""
    taps = torch.tensor([PYRAMID_TAPS], dtype=torch.float32)
    return taps.t() @ taps


def _blur(img, kernel):
    """``kernel`` ``(5, 5)`` applied to each channel of ``img`` ``(N, C, H, W)`` (cross-correlation)
    after replicate-padding 2 pixels on every side."""
    channels = img.shape[1]
    weight = kernel.to(img.dtype).expand(channels, 1, *kernel.shape)
    return F.conv2d(F.pad(img, (2, 2, 2, 2), mode='replicate'), weight, groups=channels)


def laplacian(img, kernel=None):
    """The first level of a Laplacian pyramid of ``img`` ``(N, C, H, W)``: ``img`` minus its
    blurred, 2x-decimated, re-expanded copy. Re-expansion puts the decimated pixels, times 4, back
    at the even rows and columns, zeros elsewhere, and blurs again."""
    kernel = pyramid_kernel() if kernel is None else kernel
    blurred = _blur(img, kernel)
    expanded = torch.zeros_like(blurred)
    expanded[:, :, ::2, ::2] = blurred[:, :, ::2, ::2] * 4
    return img - _blur(expanded, kernel)


@MODELS.register_module()
class EdgeLoss(CharbonnierLoss):
    """``CharbonnierLoss`` between ``laplacian(pred)`` and ``laplacian(target)``: MPRNet's edge
    loss (its default ``eps=1e-3``); ``weight`` weights the per-pixel loss map."""

    def __init__(self, loss_weight=1.0, reduction='mean', eps=1e-3):
        super().__init__(loss_weight, reduction, eps)
        # A constant: not saved in checkpoints, moves with the loss's device.
        self.register_buffer('kernel', pyramid_kernel(), persistent=False)

    def elementwise(self, pred, target):
        return super().elementwise(laplacian(pred, self.kernel), laplacian(target, self.kernel))


# MSPFN's Laplacian: 8 at the centre, -1 at the eight neighbours, each channel alone.
LAPLACIAN_3X3 = ((-1., -1., -1.), (-1., 8., -1.), (-1., -1., -1.))


def laplacian3x3(img):
    """The 3x3 Laplacian (:data:`LAPLACIAN_3X3`) of each channel of ``img`` ``(N, C, H, W)``,
    zero-padded by one pixel (TensorFlow's 'SAME' padding, as the release)."""
    channels = img.shape[1]
    kernel = torch.tensor(LAPLACIAN_3X3, dtype=img.dtype, device=img.device)
    return F.conv2d(img, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)


@MODELS.register_module()
class Laplacian3x3EdgeLoss(CharbonnierLoss):
    """``CharbonnierLoss`` between ``laplacian3x3(pred)`` and ``laplacian3x3(target)``: MSPFN's
    edge loss (its ``eps=1e-3``, on its images in [-1, 1]; see configs/mspfn/_base_/mspfn.py for
    the same loss on restorelab's [0, 1] images); ``weight`` weights the per-pixel loss map."""

    def elementwise(self, pred, target):
        return super().elementwise(laplacian3x3(pred), laplacian3x3(target))
