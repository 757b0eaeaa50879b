"""Negative SSIM as PReNet trains with it (``loss = -ssim``)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS
from .utils import check_loss_options, check_pair, weighted_reduce


def gaussian_window(window_size=11, sigma=1.5):
    """The ``(window_size, window_size)`` float32 Gaussian window of PReNet's SSIM.

    Built the way PReNet builds it so that its loss values are reproduced to the
    last bit: 1-D weights from double-precision ``exp`` stored as float32, divided
    by their float32 sum, then the float32 outer product.
    """
    half = window_size // 2
    g = torch.tensor([math.exp(-(x - half) ** 2 / float(2 * sigma ** 2)) for x in range(window_size)],
                     dtype=torch.float32)
    g = g / g.sum()
    return g[:, None] * g[None, :]


@MODELS.register_module()
class SSIMLoss(nn.Module):
    """``loss_weight * -SSIM(pred, target)`` with PReNet's SSIM.

    SSIM per channel with an 11x11 Gaussian window (sigma 1.5), zero padding of 5
    so the map keeps the input's ``(H, W)``, ``C1 = 0.01**2``, ``C2 = 0.03**2``
    (data range 1). 'mean' gives ``-mean(ssim_map)``, PReNet's training loss;
    'sum' and 'none' act on the ``(N, C, H, W)`` map of ``-ssim``; ``weight``
    weights that map.
    """

    C1 = 0.01 ** 2
    C2 = 0.03 ** 2

    def __init__(self, loss_weight=1.0, reduction='mean', window_size=11, sigma=1.5):
        super().__init__()
        check_loss_options('SSIMLoss', loss_weight, reduction)
        if not (isinstance(window_size, int) and window_size >= 1 and window_size % 2 == 1):
            raise ValueError(f'SSIMLoss: window_size must be an odd int >= 1, got {window_size!r}')
        if not (isinstance(sigma, (int, float)) and sigma > 0):
            raise ValueError(f'SSIMLoss: sigma must be > 0, got {sigma!r}')
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        self.window_size = window_size
        self.sigma = float(sigma)
        # A constant: not saved in checkpoints, moves with the model's device.
        self.register_buffer('window', gaussian_window(window_size, sigma)[None, None], persistent=False)

    def ssim_map(self, pred, target):
        """SSIM map ``(N, C, H, W)`` of two ``(N, C, H, W)`` images in [0, 1]."""
        channels = pred.shape[1]
        window = self.window.to(pred.dtype).expand(channels, 1, -1, -1)
        pad = self.window_size // 2

        def blur(x):
            return F.conv2d(x, window, padding=pad, groups=channels)

        mu1, mu2 = blur(pred), blur(target)
        mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
        sigma1_sq = blur(pred * pred) - mu1_sq
        sigma2_sq = blur(target * target) - mu2_sq
        sigma12 = blur(pred * target) - mu1_mu2
        return (((2 * mu1_mu2 + self.C1) * (2 * sigma12 + self.C2))
                / ((mu1_sq + mu2_sq + self.C1) * (sigma1_sq + sigma2_sq + self.C2)))

    def forward(self, pred, target, weight=None):
        """``pred``, ``target``: ``(N, C, H, W)``; ``weight`` broadcastable to them."""
        check_pair('SSIMLoss', pred, target, weight)
        return self.loss_weight * weighted_reduce(-self.ssim_map(pred, target), weight, self.reduction)

    def extra_repr(self):
        return (f'loss_weight={self.loss_weight}, reduction={self.reduction!r}, '
                f'window_size={self.window_size}, sigma={self.sigma}')
