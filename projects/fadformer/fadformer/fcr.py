"""FCR, the Frequency-domain Contrastive Regularization of FADformer (Gao et al., ECCV 2024, Fig. 2 (c)),
as released in deng-ai-lab/FADformer (``models/FCR.py``: ``FCR``, ``sample_with_j``; used by the
train_*.py scripts as ``L1(out, gt) + 0.1 * FCR(out, gt, rain)``).

The "frequency encoder" of the paper's figure is the 2-D DFT itself (``torch.fft.fft2``, no learned
or pretrained network): the loss needs no weights. For each output (anchor) ``a_i`` of a batch, with
ground truth ``p_i`` (positive) and rainy inputs as negatives::

    d(u, v) = mean over (C, H, W) of |DFT(u) - DFT(v)|      (modulus of the complex difference)
    FCR = 1 / (k B) * sum_i sum_{j in S_i} d(a_i, p_i) / (d(a_i, n_j) + 1e-7)

where ``S_i`` holds ``i`` itself (the anchor's own rainy input) and ``k - 1`` other indices of the
batch drawn without replacement (``k = num_negatives``, the release's ``multi_n_num = 2``). The
release draws them with Python's ``random``; here with torch's generator (seeded by the runner).
"""
import numbers

import torch
import torch.nn as nn

from restorelab.models.losses.utils import check_pair
from restorelab.registry import MODELS

RELEASE_EPS = 1e-7


def frequency_contrastive_loss(pred, target, negatives, negative_indices, eps=RELEASE_EPS):
    """FCR of a batch with the negatives given: ``pred``, ``target``, ``negatives`` ``(B, C, H, W)``;
    ``negative_indices`` ``(B, k)`` long, row i the batch indices of anchor i's negatives."""
    a = torch.fft.fft2(pred)
    p = torch.fft.fft2(target)
    n = torch.fft.fft2(negatives)
    d_ap = (a - p).abs().mean(dim=(1, 2, 3))  # (B,)
    d_an = (a.unsqueeze(1) - n[negative_indices]).abs().mean(dim=(2, 3, 4))  # (B, k)
    return (d_ap.unsqueeze(1) / (d_an + eps)).mean()


def draw_negative_indices(batch_size, num_negatives, device=None, generator=None):
    """``(B, k)``: row i is ``[i, j_1, ..., j_{k-1}]`` with the j distinct batch indices other than i,
    drawn uniformly without replacement (the release's ``sample_with_j(B, k, i)``)."""
    if num_negatives > batch_size:
        raise ValueError(
            f'FrequencyContrastiveLoss: num_negatives={num_negatives} needs a batch of at least '
            f'{num_negatives} images (each anchor\'s own rainy input and {num_negatives - 1} other), got '
            f'{batch_size}; raise the per-process batch (batch_size_per_process / --batch-size) or set '
            "num_negatives=1 (own input only)")
    # Row i: a random order of the B - 1 indices other than i, its first k - 1 kept.
    order = torch.rand(batch_size, batch_size - 1, generator=generator).argsort(dim=1)[:, :num_negatives - 1]
    others = order + (order >= torch.arange(batch_size).unsqueeze(1)).long()  # skip i itself
    own = torch.arange(batch_size).unsqueeze(1)
    return torch.cat([own, others], dim=1).to(device)


@MODELS.register_module()
class FrequencyContrastiveLoss(nn.Module):
    """FCR as a restorelab loss: ``loss_weight * FCR(pred, target, inputs)`` (see the module doc).

    ImageRestorer passes the rainy batch as ``inputs`` (the negatives) to a loss whose
    ``takes_inputs`` is True; in a ``CompositeLoss`` beside ``L1Loss`` it gives the release's
    ``L1 + 0.1 * FCR`` (``loss_weight=0.1``).

    Args:
        loss_weight: factor of the loss (the release's 0.1 is set in the config).
        num_negatives: negatives per anchor, its own rainy input included (the release's 2); the
            batch (per process) must hold at least that many images.
        eps: added to each negative distance (the release's 1e-7).
    """

    takes_inputs = True

    def __init__(self, loss_weight=1.0, num_negatives=2, eps=RELEASE_EPS):
        super().__init__()
        if isinstance(loss_weight, bool) or not isinstance(loss_weight, numbers.Real):
            raise ValueError(f'FrequencyContrastiveLoss: loss_weight must be a number, got {loss_weight!r}')
        if isinstance(num_negatives, bool) or not isinstance(num_negatives, int) or num_negatives < 1:
            raise ValueError(f'FrequencyContrastiveLoss: num_negatives must be an int >= 1, got {num_negatives!r}')
        self.loss_weight = float(loss_weight)
        self.num_negatives = num_negatives
        self.eps = float(eps)

    def forward(self, pred, target, weight=None, inputs=None):
        """``pred``, ``target``, ``inputs`` (the rainy images): ``(B, C, H, W)``."""
        name = type(self).__name__
        if weight is not None:
            raise ValueError(f'{name}: per-pixel weights are not supported (a distance between spectra)')
        if inputs is None:
            raise ValueError(f'{name} needs the rainy inputs as negatives: call it as loss(pred, target, '
                             'inputs=rain) (ImageRestorer does, for a loss whose takes_inputs is True)')
        check_pair(name, pred, target)
        check_pair(name, pred, inputs)
        indices = draw_negative_indices(pred.shape[0], self.num_negatives, device=pred.device)
        return self.loss_weight * frequency_contrastive_loss(pred, target, inputs, indices, self.eps)

    def extra_repr(self):
        return f'loss_weight={self.loss_weight}, num_negatives={self.num_negatives}, eps={self.eps}'
