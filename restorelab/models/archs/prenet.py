"""PReNet (Ren et al., CVPR 2019): progressive recurrent deraining network and
its released variants PReNet_r, PRN and PRN_r.

Each of the ``recurrent_iter`` stages sees the rainy input concatenated with
the previous stage's estimate, runs a conv, an optional conv-LSTM (carrying a
hidden state across stages) and five residual blocks, and predicts the next
estimate as ``input + conv(features)``. Parameter names follow the release
(csdwren/PReNet ``networks.py``) so its ``logs/*/net_latest.pth`` load by
identity (converters 'prenet', 'prenet_r', 'prn', 'prn_r').

Unlike the release, whose ``forward`` returns ``(x, x_list)`` (final image and
every stage's estimate), these archs return only the final image: the
restorer's contract is one ``(N, 3, H, W)`` output, and the release trains and
tests on the final image only.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

_FEATS = 32


def _res_block():
    return nn.Sequential(
        nn.Conv2d(_FEATS, _FEATS, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(_FEATS, _FEATS, 3, 1, 1), nn.ReLU())


def _gate(activation):
    return nn.Sequential(nn.Conv2d(_FEATS * 2, _FEATS, 3, 1, 1), activation)


class _ProgressiveRecurrentNet(nn.Module):
    """Shared body: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        recurrent_iter: number of stages T (6 in the release).
        use_lstm: conv-LSTM between the stem and the residual blocks (PReNet*)
            or none (PRN*).
        share_res_blocks: one residual block applied 5 times (``*_r``,
            recursive) instead of five distinct ones.
    """

    size_multiple = 1
    num_res_applications = 5

    def __init__(self, recurrent_iter=6, use_lstm=True, share_res_blocks=False):
        super().__init__()
        if recurrent_iter < 1:
            raise ValueError(f'recurrent_iter must be >= 1, got {recurrent_iter}')
        self.recurrent_iter = recurrent_iter
        self.use_lstm = use_lstm
        self.share_res_blocks = share_res_blocks
        self.conv0 = nn.Sequential(nn.Conv2d(6, _FEATS, 3, 1, 1), nn.ReLU())
        num_distinct = 1 if share_res_blocks else self.num_res_applications
        for i in range(1, num_distinct + 1):
            self.add_module(f'res_conv{i}', _res_block())
        if use_lstm:
            self.conv_i = _gate(nn.Sigmoid())
            self.conv_f = _gate(nn.Sigmoid())
            self.conv_g = _gate(nn.Tanh())
            self.conv_o = _gate(nn.Sigmoid())
        self.conv = nn.Sequential(nn.Conv2d(_FEATS, 3, 3, 1, 1))

    def _res_blocks(self):
        if self.share_res_blocks:
            return [self.res_conv1] * self.num_res_applications
        return [getattr(self, f'res_conv{i}') for i in range(1, self.num_res_applications + 1)]

    def forward(self, inp):
        n, _, h, w = inp.shape
        x = inp
        if self.use_lstm:
            hidden = inp.new_zeros(n, _FEATS, h, w)
            cell = inp.new_zeros(n, _FEATS, h, w)
        res_blocks = self._res_blocks()
        for _ in range(self.recurrent_iter):
            x = self.conv0(torch.cat((inp, x), 1))
            if self.use_lstm:
                xh = torch.cat((x, hidden), 1)
                cell = self.conv_f(xh) * cell + self.conv_i(xh) * self.conv_g(xh)
                hidden = self.conv_o(xh) * torch.tanh(cell)
                x = hidden
            for block in res_blocks:
                x = F.relu(block(x) + x)
            x = self.conv(x) + inp
        return x


@MODELS.register_module()
class PReNet(_ProgressiveRecurrentNet):
    """PReNet: T stages with conv-LSTM and five residual blocks (168,963 params)."""

    def __init__(self, recurrent_iter=6):
        super().__init__(recurrent_iter, use_lstm=True, share_res_blocks=False)


@MODELS.register_module(name='PReNet_r')
class PReNetRecursive(_ProgressiveRecurrentNet):
    """PReNet_r: PReNet with one residual block applied five times (94,979 params)."""

    def __init__(self, recurrent_iter=6):
        super().__init__(recurrent_iter, use_lstm=True, share_res_blocks=True)


@MODELS.register_module()
class PRN(_ProgressiveRecurrentNet):
    """PRN: PReNet without the LSTM (95,107 params)."""

    def __init__(self, recurrent_iter=6):
        super().__init__(recurrent_iter, use_lstm=False, share_res_blocks=False)


@MODELS.register_module(name='PRN_r')
class PRNRecursive(_ProgressiveRecurrentNet):
    """PRN_r: PRN with one residual block applied five times (21,123 params)."""

    def __init__(self, recurrent_iter=6):
        super().__init__(recurrent_iter, use_lstm=False, share_res_blocks=True)
