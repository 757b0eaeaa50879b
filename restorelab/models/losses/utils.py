"""Shared argument checks and the reduction used by every restorelab loss."""
import numbers

import torch

REDUCTIONS = ('mean', 'sum', 'none')


def check_loss_options(name, loss_weight, reduction):
    """Validate the options every loss takes; raise a ValueError naming the loss."""
    if isinstance(loss_weight, bool) or not isinstance(loss_weight, numbers.Real):
        raise ValueError(f'{name}: loss_weight must be a number, got {loss_weight!r}')
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_pair(name, pred, target, weight=None):
    """Require ``pred`` and ``target`` to be ``(N, C, H, W)`` tensors of one shape.

    ``weight``, when given, must broadcast to that shape (e.g. ``(N, 1, H, W)``).
    """
    if not (torch.is_tensor(pred) and torch.is_tensor(target)):
        raise TypeError(f'{name}: pred and target must be tensors, got '
                        f'{type(pred).__name__} and {type(target).__name__}')
    if pred.dim() != 4 or pred.shape != target.shape:
        raise ValueError(
            f'{name}: pred and target must be (N, C, H, W) tensors of the same shape, got '
            f'{tuple(pred.shape)} and {tuple(target.shape)}')
    if weight is not None:
        try:
            fits = torch.broadcast_shapes(weight.shape, pred.shape) == pred.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f'{name}: weight of shape {tuple(weight.shape)} does not broadcast to '
                f'{tuple(pred.shape)}; use (N, 1, H, W) or (N, C, H, W)')


def weighted_reduce(loss, weight, reduction):
    """Reduce an element-wise ``loss`` ``(N, C, H, W)``.

    With ``weight`` the 'mean' is a weighted mean, ``sum(loss * w) / sum(w)`` with
    ``w`` broadcast to the loss's shape (0 when every weight is 0); 'sum' is
    ``sum(loss * w)`` and 'none' returns ``loss * w``.
    """
    if weight is not None:
        weight = weight.to(loss.dtype)
        loss = loss * weight
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if weight is None:
        return loss.mean()
    return loss.sum() / weight.expand_as(loss).sum().clamp_min(1e-12)
