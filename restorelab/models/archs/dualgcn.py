"""DualGCN (Fu, Qi, Zha, Zhu and Ding, "Rain Streak Removal via Dual Graph Convolutional
Network", AAAI 2021).

A symmetric encoder-decoder of *basic units* at full resolution. Each basic unit models an
image three ways, one after the other, and adds its input back::

    F_sGCN = sGCN(x)          # spatial-based GCN: global spatial coherence (pixels as nodes)
    F_DCM  = DCM(F_sGCN)      # dilated convolution module: multi-scale local features
    F_cGCN = cGCN(F_DCM)      # channel-based GCN: global inter-channel correlation
    F_unit = F_cGCN + x

The network (``Inference`` of the release)::

    basic_fea0 = conv3x3(rain);  basic_fea1 = conv3x3(basic_fea0)
    encode0..4 = five basic units;  middle = a basic unit
    decoder_k  = unit(conv1x1([decoder_{k+1}, encode_k]))   k = 4..0, symmetric skips
    end        = relu(conv3x3([decoder0, basic_fea1])) + basic_fea0
    output     = rain + conv3x3(end)

Release: the authors' TensorFlow 1.x test code, ``paper/2021/AAAI/code/model.py`` in
xueyangfu/xueyangfu.github.io at commit 99fe217b116064608821be4907e8b250377d2c8c (later
commits replace the folder by ``paper/2021/AAAI/code.zip``), with weights trained on
Rain200H, Rain200L, DID-Data, DDN-Data and SPA-Data. The only variant the release's code
takes is the width ``channels`` (72): an argument here. Parameter count: 2,731,071 for
``channels=72``, the release's checkpoints' too.

Module names follow the paper and the release's variable names (``theta``, ``nu``, ``xi``
of the sGCN; ``zeta``, ``kappa`` of the cGCN; ``conv1``..``conv4`` of the DCM); the
release's own tensors are TensorFlow variables numbered by creation order
(``Generator/encoder0/conv2d_5/kernel``), renamed by the converter 'dualgcn'.

Differences from the release:

- none in the maths. The release computes in NHWC and these modules in NCHW; every
  reshape is the same flattening of pixels in raster order, and the two softmaxes each run
  over the whole of one image's tensor (``HW * C/2`` values in the sGCN, ``C/4 * C/2`` in
  the cGCN), as the release's reshape to ``[batch, -1]`` before ``tf.nn.softmax`` does.
- the cGCN's two graph convolutions are 1x1 convolutions over a ``(1, N, C)`` "image" in
  the release; here they are ``nn.Linear`` maps on the same axes (the same products; the
  converter reshapes the kernels).

Any input size works (``size_multiple = 1``): nothing is downsampled. The sGCN's softmax
runs over every pixel of the image, so the output at one pixel depends on the whole
image: tiling an image (or padding it) changes the result, as it would in the release.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS


class SpatialGCN(nn.Module):
    """sGCN: pixels are the graph's nodes.

    With ``theta, nu, xi = conv1x1(x)`` (``C/2`` channels each), ``nu`` and ``xi`` turned
    into one distribution each by a softmax over all of their ``HW * C/2`` values::

        F_s    = nu^T xi              (C/2, C/2): the graph over the channel features
        AF_s   = theta F_s            (HW, C/2): every pixel aggregates from all pixels
        output = conv1x1(AF_s) + x

    ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels):
        super().__init__()
        inner = channels // 2
        self.theta = nn.Conv2d(channels, inner, 1)
        self.nu = nn.Conv2d(channels, inner, 1)
        self.xi = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # (N, C/2, HW)
        nu = self.nu(x).flatten(1).softmax(dim=-1).view_as(theta)
        xi = self.xi(x).flatten(1).softmax(dim=-1).view_as(theta)
        f_s = nu @ xi.transpose(1, 2)  # (N, C/2, C/2): nu^T xi
        af_s = f_s.transpose(1, 2) @ theta  # (N, C/2, HW): (theta F_s)^T
        return self.out(af_s.view(n, -1, h, w)) + x


class ChannelGCN(nn.Module):
    """cGCN: a graph over channel features.

    With ``zeta = conv1x1(x)`` (``C/2`` channels) and ``kappa = conv1x1(x)`` (``C/4``)::

        F_c    = softmax(kappa^T zeta)            (C/4, C/2), softmax over all its values
        F_c    = relu(F_c + F_c W_1 + b_1)        graph conv 1 along the C/2 axis, residual
        G      = F_c^T W_2 + b_2                  graph conv 2 along the C/4 axis: (C/2, C/4)
        output = conv1x1(zeta G) + x              back to the pixels: (HW, C/4) -> C channels

    ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels):
        super().__init__()
        features, nodes = channels // 2, channels // 4
        self.zeta = nn.Conv2d(channels, features, 1)
        self.kappa = nn.Conv2d(channels, nodes, 1)
        self.graph_conv1 = nn.Linear(features, features)
        self.graph_conv2 = nn.Linear(nodes, nodes)
        self.out = nn.Conv2d(nodes, channels, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        zeta = self.zeta(x).flatten(2)  # (N, C/2, HW)
        kappa = self.kappa(x).flatten(2)  # (N, C/4, HW)
        f_c = kappa @ zeta.transpose(1, 2)  # (N, C/4, C/2)
        f_c = f_c.flatten(1).softmax(dim=-1).view_as(f_c)
        f_c = F.relu(f_c + self.graph_conv1(f_c))
        g = self.graph_conv2(f_c.transpose(1, 2))  # (N, C/2, C/4)
        out = g.transpose(1, 2) @ zeta  # (N, C/4, HW): (zeta G)^T
        return self.out(out.view(n, -1, h, w)) + x


class DilatedConvModule(nn.Module):
    """DCM: two chains of two 3x3 convs + ReLU, dilation 1 and dilation 3, both fed by
    ``x``; ``x`` and the four maps are concatenated and fused by a 1x1 conv + ReLU::

        c1 = relu(conv1(x)); c2 = relu(conv2(c1))      dilation 1
        c3 = relu(conv3(x)); c4 = relu(conv4(c3))      dilation 3
        output = relu(fusion([x, c1, c2, c3, c4]))

    ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=3, dilation=3)
        self.conv4 = nn.Conv2d(channels, channels, 3, padding=3, dilation=3)
        self.fusion = nn.Conv2d(5 * channels, channels, 1)

    def forward(self, x):
        c1 = F.relu(self.conv1(x))
        c2 = F.relu(self.conv2(c1))
        c3 = F.relu(self.conv3(x))
        c4 = F.relu(self.conv4(c3))
        return F.relu(self.fusion(torch.cat([x, c1, c2, c3, c4], dim=1)))


class BasicUnit(nn.Module):
    """``x + cGCN(DCM(sGCN(x)))``: ``(N, C, H, W) -> (N, C, H, W)``."""

    def __init__(self, channels):
        super().__init__()
        self.sgcn = SpatialGCN(channels)
        self.dcm = DilatedConvModule(channels)
        self.cgcn = ChannelGCN(channels)

    def forward(self, x):
        return self.cgcn(self.dcm(self.sgcn(x))) + x


@MODELS.register_module()
class DualGCN(nn.Module):
    """DualGCN: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        channels: feature width of every unit (72 in the release). The sGCN uses
            ``channels // 2`` and the cGCN ``channels // 2`` and ``channels // 4``, so it
            must be at least 4.
    """

    size_multiple = 1
    num_encoders = 5  # encoder0..encoder4 and decoder4..decoder0, fixed in the release

    def __init__(self, channels=72):
        super().__init__()
        if not isinstance(channels, int) or channels < 4:
            raise ValueError(f'DualGCN channels must be an integer >= 4 (the graphs use '
                             f'channels // 4 nodes), got {channels!r}')
        self.channels = channels
        self.basic_fea0 = nn.Conv2d(3, channels, 3, padding=1)
        self.basic_fea1 = nn.Conv2d(channels, channels, 3, padding=1)
        for k in range(self.num_encoders):
            self.add_module(f'encoder{k}', BasicUnit(channels))
        self.middle = BasicUnit(channels)
        for k in reversed(range(self.num_encoders)):
            # the 1x1 conv fusing the symmetric skip, then the unit
            self.add_module(f'skip_fusion{k}', nn.Conv2d(2 * channels, channels, 1))
            self.add_module(f'decoder{k}', BasicUnit(channels))
        self.reconstruct0 = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.reconstruct1 = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, rain):
        basic_fea0 = self.basic_fea0(rain)
        basic_fea1 = self.basic_fea1(basic_fea0)
        encoded, x = [], basic_fea1
        for k in range(self.num_encoders):
            x = getattr(self, f'encoder{k}')(x)
            encoded.append(x)
        x = self.middle(x)
        for k in reversed(range(self.num_encoders)):
            x = getattr(self, f'skip_fusion{k}')(torch.cat([x, encoded[k]], dim=1))
            x = getattr(self, f'decoder{k}')(x)
        end = F.relu(self.reconstruct0(torch.cat([x, basic_fea1], dim=1))) + basic_fea0
        return rain + self.reconstruct1(end)
