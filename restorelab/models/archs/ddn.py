"""DDN, the deep detail network (Fu et al., "Removing Rain from Single Images via a Deep
Detail Network", CVPR 2017).

A guided filter splits the rainy image ``X`` into a smooth *base layer* and a *detail layer*
``X - base`` that holds the rain streaks and the edges. A 26-layer ResNet on the detail layer
predicts the *negative residual*, and the derained image is ``X + negative residual``::

    base     = guided_filter(X, guide=X, radius 15, eps 1)    # per channel, self-guided
    detail   = X - base
    f_1      = relu(bn_1(conv_1(detail)))                     # layer 1: 3 -> 16 channels
    f_{k+1}  = f_k + relu(bn(conv(relu(bn(conv(f_k))))))      # 12 shortcut units, layers 2-25
    Y        = X + bn_26(conv_26(f_13))                       # layer 26: 16 -> 3, no ReLU

All convolutions are 3x3 with bias and 'same' zero padding; the batch norms have TensorFlow's
eps 1e-3 (and in training its momentum 0.99, PyTorch's ``momentum=0.01``).

Release: Xueyang Fu's TensorFlow re-implementation, ``paper/2017/cvpr/CVPR17_training_code.zip``
in xueyangfu/xueyangfu.github.io (at 5cd918be695654e2048ba3e7ed1b86e3b5474259; the archive
last changed in a5659eb): ``training.py`` (``inference``), ``GuidedFilter.py`` (from Wu et al.'s
DeepGuidedFilter) and the trained model ``model/trained/model.{index,data-00000-of-00001}``.
Parameter names: ``layer_<i>.conv`` / ``layer_<i>.bn`` for the release's
``layer_<i>/conv_<i>`` / ``layer_<i>/bn_<i>`` (converter 'ddn', which also transposes TF's
HWIO kernels). 57,369 parameters (as the release's trainable variables) + 806 BN statistics.

Differences from the release:

- The guided filter's box filter is the same cumulative-sum window sum, written for any size:
  the release asserts that height and width exceed ``2 * radius + 1`` (31 pixels); here smaller
  inputs get the same border-truncated window (the window is the pixels inside the image), so
  ``size_multiple`` is 1 and no input is refused.
- The release's test script clips to [0, 1] (done here by ``ImageRestorer``) and saves
  ``np.uint8(255 * out)``, a truncation; restorelab rounds.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS


def window_sum(x, radius, dim):
    """Sums of ``x`` over windows ``[i - radius, i + radius]`` along ``dim``, each window cut
    at the ends: one cumulative sum and a difference (the release's ``diff_x``/``diff_y``)."""
    n = x.size(dim)
    cumsum = x.cumsum(dim)
    idx = torch.arange(n, device=x.device)
    upper = cumsum.index_select(dim, (idx + radius).clamp(max=n - 1))
    lower_idx = idx - radius - 1
    lower = cumsum.index_select(dim, lower_idx.clamp(min=0))
    keep = (lower_idx >= 0).to(x.dtype).view([-1 if d == dim % x.dim() else 1 for d in range(x.dim())])
    return upper - lower * keep


def box_filter(x, radius):
    """Sum of ``x`` over the ``(2r+1) x (2r+1)`` window around each pixel of an ``(N, C, H, W)``
    map, inside the image only (along H first, then W, as the release)."""
    return window_sum(window_sum(x, radius, 2), radius, 3)


def guided_filter(x, guide, radius, eps):
    """He et al.'s guided filter of ``x`` with guidance ``guide`` (both ``(N, C, H, W)``, each
    channel guided by its own), in the release's (DeepGuidedFilter's) formulation."""
    h, w = x.shape[-2:]
    count = box_filter(x.new_ones(1, 1, h, w), radius)  # pixels inside each window
    mean_guide = box_filter(guide, radius) / count
    mean_x = box_filter(x, radius) / count
    cov = box_filter(guide * x, radius) / count - mean_guide * mean_x
    var = box_filter(guide * guide, radius) / count - mean_guide * mean_guide
    a = cov / (var + eps)
    b = mean_x - a * mean_guide
    return box_filter(a, radius) / count * guide + box_filter(b, radius) / count


class ConvBN(nn.Sequential):
    """``bn(conv(x))``: a 3x3 convolution with bias and TensorFlow's batch norm."""

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.01)


@MODELS.register_module()
class DDN(nn.Module):
    """Deep detail network: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        num_features: channels of layers 1-25 (16 in the release).
        num_units: shortcut units of two layers each (12: layers 2-25).
        radius, eps: the guided filter's window radius and regularisation (15 and 1 in the
            release's ``inference``).
    """

    size_multiple = 1

    def __init__(self, num_features=16, num_units=12, radius=15, eps=1.0, in_channels=3):
        super().__init__()
        if num_units < 0:
            raise ValueError(f'num_units must be >= 0, got {num_units}')
        self.num_units, self.radius, self.eps = num_units, radius, eps
        self.layer_1 = ConvBN(in_channels, num_features)
        for i in range(2, 2 * num_units + 2):
            self.add_module(f'layer_{i}', ConvBN(num_features, num_features))
        self.add_module(f'layer_{2 * num_units + 2}', ConvBN(num_features, in_channels))

    def layer(self, i):
        return getattr(self, f'layer_{i}')

    def forward(self, rainy):
        base = guided_filter(rainy, rainy, self.radius, self.eps)
        detail = rainy - base
        shortcut = F.relu(self.layer_1(detail))
        for unit in range(self.num_units):
            out = F.relu(self.layer(2 * unit + 2)(shortcut))
            out = F.relu(self.layer(2 * unit + 3)(out))
            shortcut = shortcut + out
        negative_residual = self.layer(2 * self.num_units + 2)(shortcut)
        return rainy + negative_residual
