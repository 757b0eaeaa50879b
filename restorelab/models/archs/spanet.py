"""SPANet (Wang, Yang, Xu, Chen, Zhang and Lau, "Spatial Attentive Single-Image Deraining with a
High Quality Real Rain Dataset", CVPR 2019): a residual network whose middle blocks are
weighted by spatial attention maps, each map computed by a spatial attentive module (SAM) from
two rounds of four-directional IRNN recurrences; trained on SPA-Data's real rain pairs.

The network (32 feature channels ``c``; every block below keeps ``(N, c, H, W)``)::

    F = ReLU(conv3x3(O))                                       3 -> c, no bias
    3 residual blocks           F = ReLU(B_k(F) + F)
    4 x (A = SAM(F), then 3 spatial attentive residual blocks  F = ReLU(B_k(F) * A + F))
    2 residual blocks           F = ReLU(B_k(F) + F)
    output = conv3x3(F)                                        c -> 3, no bias

``B_k`` is a bottleneck (1x1 conv, ReLU, 3x3 conv with dilation 2, ReLU, 1x1 conv; no biases)
and ``A`` an ``(N, 1, H, W)`` attention map, broadcast over the channels. The output is the
derained image itself (no skip from the input). The four SAM calls share one set of weights
(the release builds one ``SAM1`` and calls it four times).

The SAM: ``conv3x3`` (c -> c), IRNN, ``conv3x3`` (4c -> c), IRNN, ``conv3x3`` (4c -> c), ReLU,
``conv1x1`` (c -> 1), sigmoid; each IRNN gives four maps (one per direction) that are
concatenated, in the order up, right, down, left.

The IRNN (a recurrent network of ReLU units with a per-channel weight ``w_d`` and bias ``b_d``
for each direction ``d``; the release starts every ``w_d`` at 0.2): each row (for right and
left) or column (for down and up) of every channel is swept in one direction, the state
starting as the input at the first pixel of the sweep, passed through ReLU::

    h_0 = ReLU(x_0)
    h_i = ReLU(w_d * h_{i-1} + b_d + x_i)        i = 1, 2, ... along the sweep

'right' sweeps each row from column 0 to W-1 (``h`` at column j sums up columns 0..j), 'left'
from W-1 to 0, 'down' each column from row 0 to H-1, 'up' from H-1 to 0. That is the maths of
the release's CUDA kernel ``IRNN_Forward_cuda.cu`` (one thread per output pixel, running the
recurrence from the image border to its pixel), including the ReLU on the first pixel, the bias
from the second pixel on and the input ``x_i`` added at every step. Here the recurrence is
written in PyTorch, vectorised over rows (or columns): a loop over the W (or H) steps, each a
vector operation on every row of every channel and image; autograd gives its gradient.

Release: stevewongv/SPANet at 82d2889 (``SPANet.py``, ``irnn.py``, ``IRNN_Forward_cuda.cu``);
its weights ``model/latest`` (``{'net', 'clock', 'opt'}``) were trained on SPA-Data.
csdwren/RecDerain retrained the same network on Rain200H and Rain200L. Parameter names follow
the release (``conv_in.0``, ``SAM1.irnn1.left_weight.{weight,bias}``, ``SAM1.conv_in``,
``SAM1.attention_layer.conv1``, ``res_block1.group1.conv1``, ``conv_out.0``, ...), so the
converter 'spanet' renames nothing. Differences from the release:

- The IRNN. The release's ``irnn`` is a cupy CUDA kernel with a hand-written backward kernel,
  runs on CUDA only and needs cupy; here it is the recurrence above in PyTorch (any device,
  autograd's gradient). The release keeps each direction's ``w_d`` and ``b_d`` as the weight
  ``(c, 1, 1, 1)`` and bias ``(c,)`` of a depthwise 1x1 ``nn.Conv2d`` that is never called as
  a convolution; so does this arch (``w_d * h + b_d`` is that convolution of the state).
- Channel order. The release reads images with OpenCV and never converts them: its weights map
  BGR to BGR. The converter reverses the input channels of ``conv_in.0`` and the output
  channels of ``conv_out.0``, after which this arch on RGB equals the release on BGR.
- Direction attention. The release's SAM computes a 4-channel attention map (``attention_layer``:
  two 3x3 conv + ReLU, a 1x1 conv to 4 channels, sigmoid) meant to weight the four directions,
  but multiplies with ``Tensor.mul``, which returns a new tensor that it discards: the map
  changes nothing and its weights receive no gradient. ``direction_attention=False`` (the
  default) is that behaviour and skips computing the unused map; ``True`` applies the weighting
  (each direction's maps times its attention channel, after both IRNNs), the paper's intent,
  for which no weights are published. The ``attention_layer`` weights are kept either way, so
  that the release's files load.
- Output. The release's forward returns ``(attention map of the first SAM, image)``; ``forward``
  returns the image (restorelab's contract) and :meth:`SPANet.forward_with_attention` both,
  for the release's training loss (``AttentionMaskLoss``).
- The feature width and block counts are constructor arguments (the release's 32 channels,
  3 + 4 x 3 + 2 blocks are the defaults).
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

DIRECTIONS = ('up', 'right', 'down', 'left')  # the release's concatenation order
IRNN_INIT_WEIGHT = 0.2  # the release's ``alpha``: every recurrence weight starts at 0.2


def directional_recurrence(x, weight, bias, direction):
    """One IRNN direction on ``x`` ``(N, C, H, W)``: ``h_0 = ReLU(x_0)``,
    ``h_i = ReLU(weight * h_{i-1} + bias + x_i)`` along each row ('right': left to right,
    'left': right to left) or column ('down': top to bottom, 'up': bottom to top), with the
    per-channel ``weight`` and ``bias`` ``(C,)``. Returns ``(N, C, H, W)``."""
    dim = 3 if direction in ('right', 'left') else 2
    length = x.shape[dim]
    steps = range(length) if direction in ('right', 'down') else range(length - 1, -1, -1)
    # After selecting one column (or row), a step works on (N, C, H) (or (N, C, W)).
    weight, bias = weight.reshape(1, -1, 1), bias.reshape(1, -1, 1)
    states = [None] * length
    state = None
    for i in steps:
        x_i = x.select(dim, i)
        state = F.relu(x_i) if state is None else F.relu(weight * state + bias + x_i)
        states[i] = state
    return torch.stack(states, dim)


class SpatialIRNN(nn.Module):
    """Four-directional IRNN (the release's ``Spacial_IRNN``): ``x (N, C, H, W)`` -> the tuple
    ``(up, right, down, left)`` of :func:`directional_recurrence` maps, each ``(N, C, H, W)``.

    Each direction's ``w_d`` and ``b_d`` are the weight ``(C, 1, 1, 1)`` and bias ``(C,)`` of a
    depthwise 1x1 convolution ``<d>_weight`` (the release's parameter holders); the weights
    start at 0.2, the biases at the convolution's default initialisation.
    """

    def __init__(self, channels, alpha=IRNN_INIT_WEIGHT):
        super().__init__()
        for direction in ('left', 'right', 'up', 'down'):  # the release's key order
            conv = nn.Conv2d(channels, channels, 1, groups=channels)
            nn.init.constant_(conv.weight, alpha)
            self.add_module(f'{direction}_weight', conv)

    def forward(self, x):
        maps = []
        for direction in DIRECTIONS:
            conv = getattr(self, f'{direction}_weight')
            maps.append(directional_recurrence(x, conv.weight, conv.bias, direction))
        return tuple(maps)


class DirectionAttention(nn.Module):
    """The release's ``Attention``: ``sigmoid(conv1x1(ReLU(conv3x3(ReLU(conv3x3(x))))))``,
    ``(N, c, H, W)`` -> ``(N, 4, H, W)``, one weight per direction (up, right, down, left);
    c -> c/2 -> c/2 -> 4 channels, with biases."""

    def __init__(self, channels):
        super().__init__()
        hidden = channels // 2
        self.conv1 = nn.Conv2d(channels, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.conv3 = nn.Conv2d(hidden, 4, 1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return torch.sigmoid(self.conv3(x))


def conv3x3(in_channels, out_channels):
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)


class SAM(nn.Module):
    """Spatial attentive module: ``(N, c, H, W)`` -> attention map ``(N, 1, H, W)`` in (0, 1)
    (module docstring). ``direction_attention`` applies ``attention_layer``'s weights to the
    four directions (the release computes and discards them)."""

    def __init__(self, channels, direction_attention=False):
        super().__init__()
        self.direction_attention = direction_attention
        self.irnn1 = SpatialIRNN(channels)
        self.irnn2 = SpatialIRNN(channels)
        self.conv_in = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels * 4, channels)
        self.conv3 = conv3x3(channels * 4, channels)
        self.attention_layer = DirectionAttention(channels)
        self.conv_out = nn.Conv2d(channels, 1, 1, bias=False)

    def _directions(self, irnn, x, weights):
        maps = irnn(x)
        if weights is not None:
            maps = [m * weights[:, i:i + 1] for i, m in enumerate(maps)]
        return torch.cat(maps, dim=1)

    def forward(self, x):
        weights = self.attention_layer(x) if self.direction_attention else None
        out = self.conv2(self._directions(self.irnn1, self.conv_in(x), weights))
        out = F.relu(self.conv3(self._directions(self.irnn2, out, weights)))
        return torch.sigmoid(self.conv_out(out))


class Bottleneck(nn.Module):
    """The release's residual branch: 1x1 conv, ReLU, 3x3 conv (dilation 2), ReLU, 1x1 conv, no
    biases (keys ``group1.conv1``, ``group1.conv2``, ``group1.conv3``). The skip connection
    and the ReLU after it are the network's."""

    def __init__(self, channels):
        super().__init__()
        self.group1 = nn.Sequential(OrderedDict([
            ('conv1', nn.Conv2d(channels, channels, 1, bias=False)),
            ('relu1', nn.ReLU()),
            ('conv2', nn.Conv2d(channels, channels, 3, padding=2, dilation=2, bias=False)),
            ('relu2', nn.ReLU()),
            ('conv3', nn.Conv2d(channels, channels, 1, bias=False)),
        ]))

    def forward(self, x):
        return self.group1(x)


@MODELS.register_module()
class SPANet(nn.Module):
    """Spatial attentive network: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        channels: feature channels c (the release's 32).
        num_head_blocks: residual blocks before the first SAM (3).
        num_attentive_stages: SAM calls, each followed by ``blocks_per_stage`` spatial
            attentive residual blocks (4).
        blocks_per_stage: spatial attentive residual blocks per SAM call (3).
        num_tail_blocks: residual blocks after the last stage (2).
        direction_attention: weight the IRNN directions by the SAM's attention layer (module
            docstring; False = the release).

    The residual blocks are ``res_block1`` ... ``res_block<n>`` in order (17 at the defaults).
    """

    size_multiple = 1

    def __init__(self, channels=32, num_head_blocks=3, num_attentive_stages=4, blocks_per_stage=3,
                 num_tail_blocks=2, direction_attention=False):
        super().__init__()
        counts = dict(channels=channels, num_head_blocks=num_head_blocks,
                      num_attentive_stages=num_attentive_stages, blocks_per_stage=blocks_per_stage,
                      num_tail_blocks=num_tail_blocks)
        for name, value in counts.items():
            if not isinstance(value, int) or value < (2 if name == 'channels' else 0):
                raise ValueError(f'SPANet: {name} must be an int >= '
                                 f'{2 if name == "channels" else 0}, got {value!r}')
        if channels % 2:
            raise ValueError(f'SPANet: channels must be even (the attention layer halves them), '
                             f'got {channels}')
        self.channels = channels
        self.num_head_blocks, self.num_attentive_stages = num_head_blocks, num_attentive_stages
        self.blocks_per_stage, self.num_tail_blocks = blocks_per_stage, num_tail_blocks
        self.direction_attention = direction_attention
        # Defined in the release's order (its state_dict's key order): conv_in, SAM1, the
        # residual blocks, conv_out.
        self.conv_in = nn.Sequential(conv3x3(3, channels), nn.ReLU())
        self.SAM1 = SAM(channels, direction_attention)
        num_blocks = num_head_blocks + num_attentive_stages * blocks_per_stage + num_tail_blocks
        for i in range(1, num_blocks + 1):
            self.add_module(f'res_block{i}', Bottleneck(channels))
        self.conv_out = nn.Sequential(conv3x3(channels, 3))

    def res_block(self, i):
        """Residual block ``i`` (from 1)."""
        return getattr(self, f'res_block{i}')

    def forward_with_attention(self, x):
        """``(derained image (N, 3, H, W), attention map of the first SAM (N, 1, H, W))``; the
        map is None when the network has no attentive stage."""
        out = self.conv_in(x)
        block = 1
        for _ in range(self.num_head_blocks):
            out = F.relu(self.res_block(block)(out) + out)
            block += 1
        first_attention = None
        for _ in range(self.num_attentive_stages):
            attention = self.SAM1(out)
            if first_attention is None:
                first_attention = attention
            for _ in range(self.blocks_per_stage):
                out = F.relu(self.res_block(block)(out) * attention + out)
                block += 1
        for _ in range(self.num_tail_blocks):
            out = F.relu(self.res_block(block)(out) + out)
            block += 1
        return self.conv_out(out), first_attention

    def forward(self, x):
        return self.forward_with_attention(x)[0]
