"""AIDNet ("Attentive image deraining network with better generalization", release
cuiyixin555/AIDNet): BRN whose image branch is steered by attended features of the rain
branch.

AIDNet is :class:`~restorelab.models.archs.brn.BRN` (8 stages of a rain SRN and an image
SRN coupled by bilateral LSTMs) plus one attention module ``A`` shared by all stages.
In every stage the outputs ``r_1, r_2, r_3`` of the rain SRN's three residual blocks go
through ``A``, and the image SRN's features after its residual blocks 1, 3 and 5 are
modulated by them (the release's variant ``AID_location135``)::

    x <- relu(res_conv1(x) + x);  x <- A(r_1) * x + x
    x <- relu(res_conv2(x) + x);  x <- relu(res_conv3(x) + x);  x <- A(r_2) * x + x
    x <- relu(res_conv4(x) + x);  x <- relu(res_conv5(x) + x);  x <- A(r_3) * x + x

``A`` returns attended features (same shape as its input), not a map in [0, 1].
The two released models use different ``A`` (read from their files; the release's code
matches neither):

* ``logs/Rain100H/AID_location135``: CBAM (Woo et al. 2018), channel attention with a
  32 -> 2 -> 32 MLP (``reduction=16``) then spatial attention (7x7 conv + batch norm),
  stored as ``cbam_module`` -- ``attention='cbam', reduction=16`` (the defaults);
* ``logs/Rain100L/AID_location135``: a squeeze-and-excitation block, 32 -> 16 -> 32,
  stored as ``seblock`` -- ``attention='se', reduction=2``. The release has no code for
  it; its maths here is the standard SE block (Hu et al. 2018) on the keys' layout.

The release's ``networks/generator_aid135.py`` builds ``self.aid_module = AID(32)``
(CBAM with reduction 2) but its forward calls ``self.cbam_module``: it cannot run or
load either released file as published. Its ``trainH_aid135.py``/``trainL_aid135.py``
construct that class with a ``beta`` (1.0 / 0.5) it does not accept; ``test_AID.py`` passes
none, and nothing here corresponds to it.

Parameter names follow the release (``cbam_module.ChannelGate.mlp.1.weight``,
``cbam_module.SpatialGate.spatial.bn.running_var``, ``seblock.fc.0.weight``); like BRN,
the release's unused ``res_conv4_r``/``res_conv5_r`` are dropped by the converter
('aidnet'). Test time (test_AID.py): the final image only, clamped to [0, 1], saved as
``np.uint8(255 * x)`` (truncation); no pixel-shuffle downsampling, which the release
applies only in its real-photo scripts (test_AID_real.py, test_AID_simple_real.py).
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS
from .brn import BRN, FEATS

ATTENTION_TYPES = ('cbam', 'se')


def _global_pool(x, pool):
    """``(N, C, H, W) -> (N, C, 1, 1)``: average or max over the whole map (the
    release's ``F.avg_pool2d(x, (H, W))``, kept for bit-identical sums)."""
    if torch.onnx.is_in_onnx_export():
        # An ONNX pooling kernel is a constant: the whole-map kernel would fix H and W in the
        # graph. The global pooling ops are the same function (tests/deploy holds them equal).
        return F.adaptive_avg_pool2d(x, 1) if pool is F.avg_pool2d else F.adaptive_max_pool2d(x, 1)
    return pool(x, (x.size(2), x.size(3)))


class ChannelGate(nn.Module):
    """CBAM channel attention: ``x * sigmoid(mlp(avgpool(x)) + mlp(maxpool(x)))``,
    one shared MLP ``C -> C / reduction -> C``; ``(N, C, H, W)`` in and out."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // reduction),
                                 nn.ReLU(), nn.Linear(channels // reduction, channels))

    def forward(self, x):
        logits = self.mlp(_global_pool(x, F.avg_pool2d)) + self.mlp(_global_pool(x, F.max_pool2d))
        return x * torch.sigmoid(logits)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial attention: ``x * sigmoid(bn(conv7x7([max_c(x), mean_c(x)])))``;
    ``(N, C, H, W)`` in and out, the conv without bias (the release's ``BasicConv``)."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.spatial = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(2, 1, kernel_size, 1, (kernel_size - 1) // 2, bias=False),
            bn=nn.BatchNorm2d(1, eps=1e-5, momentum=0.01)))

    def forward(self, x):
        pooled = torch.cat((x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)), 1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Convolutional block attention module: channel gate, then spatial gate
    (the release's ``networks/aid.py`` class ``AID``); ``(N, C, H, W)`` in and out."""

    def __init__(self, channels, reduction):
        super().__init__()
        # Release attribute names (CamelCase) so that its keys load unchanged.
        self.ChannelGate = ChannelGate(channels, reduction)
        self.SpatialGate = SpatialGate()

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


class SEBlock(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(fc2(relu(fc1(avgpool(x)))))``, with
    ``fc1: C -> C / reduction``; ``(N, C, H, W)`` in and out."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x):
        weights = self.fc(_global_pool(x, F.avg_pool2d).flatten(1))
        return x * weights[:, :, None, None]


@MODELS.register_module()
class AIDNet(BRN):
    """AIDNet (variant ``AID_location135``): ``(N, 3, H, W) -> (N, 3, H, W)``, any H, W.

    Args:
        recurrent_iter: number of stages T (8 in the release, ``inter_iter``).
        attention: 'cbam' (the Rain100H release; module ``cbam_module``) or 'se' (the
            Rain100L release; module ``seblock``).
        reduction: channel reduction of the attention MLP, 32 -> 32 / reduction (16 in
            the Rain100H release, 2 in the Rain100L one).
    """

    attend_after = (1, 3, 5)  # image residual blocks followed by attention, in order

    def __init__(self, recurrent_iter=8, attention='cbam', reduction=16):
        super().__init__(recurrent_iter)
        if attention not in ATTENTION_TYPES:
            raise ValueError(f'attention must be one of {ATTENTION_TYPES}, got {attention!r}')
        if not (isinstance(reduction, int) and reduction >= 1 and FEATS % reduction == 0):
            raise ValueError(f'reduction must be an int >= 1 dividing {FEATS}, got {reduction!r}')
        self.attention = attention
        if attention == 'cbam':
            self.cbam_module = CBAM(FEATS, reduction)
        else:
            self.seblock = SEBlock(FEATS, reduction)

    def attend(self, feat):
        """The shared attention module on ``(N, 32, H, W)`` rain features."""
        return self.cbam_module(feat) if self.attention == 'cbam' else self.seblock(feat)

    def image_features(self, hidden, rain_features):
        """Image residual blocks with ``x <- A(r_k) * x + x`` after blocks 1, 3, 5."""
        attended = [self.attend(f) for f in rain_features]
        feat = hidden
        for index, block in enumerate(self.image_blocks(), 1):
            feat = F.relu(block(feat) + feat)
            if index in self.attend_after:
                feat = attended[self.attend_after.index(index)] * feat + feat
        return feat
