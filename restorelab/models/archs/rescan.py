"""RESCAN (Li, Wu, Lin, Liu and Zha, "Recurrent Squeeze-and-Excitation Context Aggregation
Net for Single Image Deraining", ECCV 2018): a context aggregation net of dilated conv
layers with squeeze-and-excitation (SCAN), run for several stages with recurrent units
that carry each layer's state from one stage to the next.

One stage is the SCAN of depth ``d`` on its input ``x`` (the rainy image ``O`` at stage 1,
``O`` less the previous stage's rain estimate afterwards):

    layer 0            recurrent unit, 3x3 conv, dilation 1,        3 -> c channels
    layers 1 .. d-3    recurrent units, 3x3 convs, dilations 1, 2, 4, ..., 2^(d-4)
    layer d-2          3x3 conv, SE, LeakyReLU(0.2)
    layer d-1          1x1 conv, c -> 3: the stage's rain estimate R_s

Each recurrent unit computes its new hidden state from its input (dilated conv) and, from
stage 2 on, its own hidden state of the previous stage (3x3 conv, dilation 1), then applies
SE and LeakyReLU(0.2); that result is both the layer's output and the state it passes on.
The units (``unit``), with ``*`` elementwise and ``W_x``, ``W_h`` the unit's convolutions::

    'Conv'      h = W_x x                                   (no recurrence: SCAN per stage)
    'ConvRNN'   h = tanh(W_x x + W_h h')
    'ConvGRU'   z = sig(W_xz x + W_hz h'), r = sig(W_xr x + W_hr h'),
                n = tanh(W_xn x + W_hn (r * h')),  h = (1 - z) * h' + z * n
    'ConvLSTM'  f, i, o = sig(W_x. x + W_h. h'),  j = tanh(W_xj x + W_hj h'),
                c = f * c' + i * j,  h = o * tanh(c)        (c' is the previous cell)

At stage 1 (no previous state) the release drops the ``W_h`` terms and the gates that act
only on a previous state: ConvRNN ``h = tanh(W_x x)``; ConvGRU ``h = z * tanh(W_xn x)``
with ``z = sig(W_xz x)``; ConvLSTM ``c = i * j``, ``h = o * c`` (no tanh on c). The unit's
output is ``LeakyReLU(SE(h))``; a ConvLSTM passes on ``(that output, c)``.

The two prediction frameworks of the paper (``prediction``), with ``O`` the input:

    'full'      R_s = SCAN_s(O - R_{s-1})              (each stage predicts all the rain)
    'additive'  R_s = SCAN_s(O - R_{s-1}) + R_{s-1}    (each stage adds to the estimate)

with ``O - R_0 = O``; the derained image after stage s is ``B_s = O - R_s`` and the output
is ``B_S``. The release trains with the sum over stages of ``MSE(R_s, O - B)``, which is
``MSE(B_s, B)``: ``forward_stages`` returns every ``B_s`` for that loss
(``MultiStageLoss``).

The SE block: global average pool, Linear(c, 6), ReLU, Linear(6, c), sigmoid, channel
scaling. The release's ``SEBlock(input_dim, reduction)`` is built with reduction 6 and
uses it as the hidden width (it computes ``input_dim / reduction`` and leaves it unused),
so the hidden layer has 6 units whatever c is (c / 4 at the release's c = 24).

Release: XiaLiPKU/RESCAN at e28d1d7 (``config/model.py``; settings in
``config/settings.py``: GRU units, 'Full' prediction, 4 stages, depth 7, 24 channels, SE;
those are the defaults here). csdwren/RecDerain retrained that configuration on Rain200H and
Rain200L (``logs/Rain{Heavy,Light}/RESCAN/latest``: the release's checkpoint layout, the
same keys). Parameter names follow the release (``rnns.<layer>.conv_x*``, ``.conv_h*``,
``.se.fc.{0,2}``; ``dec.{0,1,3}`` for the last two layers), so the converter 'rescan'
renames nothing. Differences from the release:

- Channel order. The release reads its images with OpenCV and never converts them, so its
  weights map BGR to BGR; restorelab's archs take RGB. The converter reverses the input
  channels of layer 0's input convolutions and the output channels of the last layer, after
  which this arch on RGB equals the release on BGR exactly (a permutation, no arithmetic).
- Output. The release's forward returns the list of rain estimates ``[R_1 .. R_S]`` and its
  scripts derain with ``O - R_S``; here ``forward`` returns ``B_S = O - R_S`` (restorelab's
  contract) and ``forward_stages`` every ``B_s``.
- The hyperparameters are constructor arguments instead of a ``settings`` module read at
  import, so that variants live side by side.
No difference in the maths: the additive framework's ``R_{s-1}`` is detached from the
graph as the release's ``Variable(oups[-1].data)`` does (same values, same gradients).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

SE_HIDDEN = 6  # hidden units of every SE block (the release's ``reduction`` argument)
NEGATIVE_SLOPE = 0.2  # LeakyReLU after every SE
UNITS = ('Conv', 'ConvRNN', 'ConvGRU', 'ConvLSTM')
PREDICTIONS = ('full', 'additive')


class SEBlock(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(fc2(relu(fc1(mean_hw(x)))))`` per channel.

    ``fc`` is ``Sequential(Linear(c, hidden), ReLU, Linear(hidden, c), Sigmoid)``
    (keys ``fc.0``, ``fc.2``).
    """

    def __init__(self, channels, hidden=SE_HIDDEN):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x):
        weights = self.fc(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


def se_block(channels, use_se):
    return SEBlock(channels) if use_se else nn.Identity()


def dilated_conv(in_channels, out_channels, dilation):
    """3x3 conv with the given dilation, padded to keep the size."""
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)


def hidden_conv(channels):
    """3x3 conv (dilation 1) on a unit's previous hidden state."""
    return nn.Conv2d(channels, channels, 3, padding=1)


class _Unit(nn.Module):
    """A SCAN layer: ``forward(x, state) -> (output, state)``; ``state`` is None at the
    first stage. Its output is ``LeakyReLU(SE(h))`` of the unit's new hidden state h.
    Each unit defines its convolutions before ``se``: the release's key order."""

    def excite(self, h):
        return F.leaky_relu(self.se(h), NEGATIVE_SLOPE)


class DilatedConvLayer(_Unit):
    """No recurrence (unit 'Conv', the release's ``ConvDirec``): ``LeakyReLU(SE(W_x x))``;
    its state is always None."""

    def __init__(self, in_channels, out_channels, dilation, use_se=True):
        super().__init__()
        self.conv = dilated_conv(in_channels, out_channels, dilation)
        self.se = se_block(out_channels, use_se)

    def forward(self, x, state=None):
        return self.excite(self.conv(x)), None


class ConvRNN(_Unit):
    """``h = tanh(W_x x + W_h h')`` (``tanh(W_x x)`` at stage 1)."""

    def __init__(self, in_channels, out_channels, dilation, use_se=True):
        super().__init__()
        self.conv_x = dilated_conv(in_channels, out_channels, dilation)
        self.conv_h = hidden_conv(out_channels)
        self.se = se_block(out_channels, use_se)

    def forward(self, x, state=None):
        if state is None:
            h = torch.tanh(self.conv_x(x))
        else:
            h = torch.tanh(self.conv_x(x) + self.conv_h(state))
        h = self.excite(h)
        return h, h


class ConvGRU(_Unit):
    """Update gate z, reset gate r, candidate n: ``h = (1 - z) h' + z n`` (``z * tanh(W_xn x)``
    at stage 1)."""

    def __init__(self, in_channels, out_channels, dilation, use_se=True):
        super().__init__()
        self.conv_xz = dilated_conv(in_channels, out_channels, dilation)
        self.conv_xr = dilated_conv(in_channels, out_channels, dilation)
        self.conv_xn = dilated_conv(in_channels, out_channels, dilation)
        self.conv_hz = hidden_conv(out_channels)
        self.conv_hr = hidden_conv(out_channels)
        self.conv_hn = hidden_conv(out_channels)
        self.se = se_block(out_channels, use_se)

    def forward(self, x, state=None):
        if state is None:
            h = torch.sigmoid(self.conv_xz(x)) * torch.tanh(self.conv_xn(x))
        else:
            z = torch.sigmoid(self.conv_xz(x) + self.conv_hz(state))
            r = torch.sigmoid(self.conv_xr(x) + self.conv_hr(state))
            n = torch.tanh(self.conv_xn(x) + self.conv_hn(r * state))
            h = (1 - z) * state + z * n
        h = self.excite(h)
        return h, h


class ConvLSTM(_Unit):
    """Forget f, input i, output o gates and candidate j: ``c = f c' + i j``,
    ``h = o tanh(c)`` (``c = i j``, ``h = o c`` at stage 1). State: ``(output, c)``."""

    def __init__(self, in_channels, out_channels, dilation, use_se=True):
        super().__init__()
        self.conv_xf = dilated_conv(in_channels, out_channels, dilation)
        self.conv_xi = dilated_conv(in_channels, out_channels, dilation)
        self.conv_xo = dilated_conv(in_channels, out_channels, dilation)
        self.conv_xj = dilated_conv(in_channels, out_channels, dilation)
        self.conv_hf = hidden_conv(out_channels)
        self.conv_hi = hidden_conv(out_channels)
        self.conv_ho = hidden_conv(out_channels)
        self.conv_hj = hidden_conv(out_channels)
        self.se = se_block(out_channels, use_se)

    def forward(self, x, state=None):
        if state is None:
            i = torch.sigmoid(self.conv_xi(x))
            o = torch.sigmoid(self.conv_xo(x))
            j = torch.tanh(self.conv_xj(x))
            c = i * j
            h = o * c
        else:
            h, c = state
            f = torch.sigmoid(self.conv_xf(x) + self.conv_hf(h))
            i = torch.sigmoid(self.conv_xi(x) + self.conv_hi(h))
            o = torch.sigmoid(self.conv_xo(x) + self.conv_ho(h))
            j = torch.tanh(self.conv_xj(x) + self.conv_hj(h))
            c = f * c + i * j
            h = o * torch.tanh(c)
        h = self.excite(h)
        return h, (h, c)


UNIT_CLASSES = dict(zip(UNITS, (DilatedConvLayer, ConvRNN, ConvGRU, ConvLSTM)))


@MODELS.register_module()
class RESCAN(nn.Module):
    """Recurrent SE context aggregation net: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        unit: recurrent unit of layers 0 .. d-3: 'ConvGRU' (the release's default),
            'ConvLSTM', 'ConvRNN' or 'Conv' (none: every stage is an independent SCAN).
        prediction: 'full' (the release's default) or 'additive' (module docstring).
        num_stages: stages S (the release's ``stage_num``, 4).
        depth: layers d of the SCAN, >= 3 (7: five recurrent layers with dilations
            1, 1, 2, 4, 8, then the 3x3 and 1x1 layers).
        channels: feature channels c (24).
        use_se: SE in every layer but the last (True); without it the layers have no SE.
    """

    size_multiple = 1

    def __init__(self, unit='ConvGRU', prediction='full', num_stages=4, depth=7, channels=24,
                 use_se=True):
        super().__init__()
        if unit not in UNITS:
            raise ValueError(f'RESCAN: unit must be one of {UNITS}, got {unit!r}')
        if prediction not in PREDICTIONS:
            raise ValueError(f'RESCAN: prediction must be one of {PREDICTIONS}, got {prediction!r}')
        if num_stages < 1:
            raise ValueError(f'RESCAN: num_stages must be >= 1, got {num_stages}')
        if depth < 3:
            raise ValueError(f'RESCAN: depth must be >= 3 (layer 0 and the two output layers), '
                             f'got {depth}')
        self.unit, self.prediction, self.num_stages = unit, prediction, num_stages
        self.depth, self.channels, self.use_se = depth, channels, use_se
        unit_cls = UNIT_CLASSES[unit]
        # Layers 0 .. d-3: layer 0 on the image, then dilations 1, 2, 4, ...
        self.rnns = nn.ModuleList(
            [unit_cls(3, channels, 1, use_se)]
            + [unit_cls(channels, channels, 2 ** i, use_se) for i in range(depth - 3)])
        # Layers d-2 and d-1: 3x3 conv + SE + LeakyReLU, then the 1x1 conv to the rain estimate.
        self.dec = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            se_block(channels, use_se),
            nn.LeakyReLU(NEGATIVE_SLOPE),
            nn.Conv2d(channels, 3, 1))

    def forward_stages(self, rainy):
        """The derained image ``B_s = O - R_s`` after each stage: a list of S tensors
        ``(N, 3, H, W)``."""
        states = [None] * len(self.rnns)
        rain = None
        derained = []
        x = rainy
        for _ in range(self.num_stages):
            for layer, unit in enumerate(self.rnns):
                x, states[layer] = unit(x, states[layer])
            stage_rain = self.dec(x)
            if self.prediction == 'additive' and rain is not None:
                stage_rain = stage_rain + rain.detach()
            rain = stage_rain
            x = rainy - rain
            derained.append(x)
        return derained

    def forward(self, rainy):
        return self.forward_stages(rainy)[-1]
