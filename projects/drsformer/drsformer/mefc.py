"""Mixture-of-experts feature compensator (MEFC) of DRSformer, in the official release's form."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .depthwise import depthwise_conv2d


class SepConv(nn.Module):
    """Separable conv expert: (depth-wise kxk, 1x1, ReLU) then (depth-wise kxk, 1x1), no biases."""

    def __init__(self, channels, kernel_size):
        super().__init__()
        pad = kernel_size // 2
        self.dw1 = nn.Conv2d(channels, channels, kernel_size, padding=pad, groups=channels, bias=False)
        self.pw1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.dw2 = nn.Conv2d(channels, channels, kernel_size, padding=pad, groups=channels, bias=False)
        self.pw2 = nn.Conv2d(channels, channels, 1, bias=False)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.pw2(self.dw2(self.act(self.pw1(self.dw1(x)))))


class DilConv(nn.Module):
    """Dilated conv expert: depth-wise kxk with dilation 2, then 1x1, no biases."""

    def __init__(self, channels, kernel_size, dilation=2):
        super().__init__()
        pad = dilation * (kernel_size // 2)
        self.dw = nn.Conv2d(
            channels, channels, kernel_size, padding=pad, dilation=dilation, groups=channels, bias=False)
        self.pw = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x):
        return self.pw(self.dw(x))


def build_experts(channels):
    """The release's eight experts, in its order (the gate's weights index them in this order)."""
    return nn.ModuleDict(OrderedDict([
        ('sep1x1', SepConv(channels, 1)),
        ('sep3x3', SepConv(channels, 3)),
        ('sep5x5', SepConv(channels, 5)),
        ('sep7x7', SepConv(channels, 7)),
        ('dil3x3', DilConv(channels, 3)),
        ('dil5x5', DilConv(channels, 5)),
        ('dil7x7', DilConv(channels, 7)),
        ('avg3x3', nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)),
    ]))


NUM_EXPERTS = 8


class ExpertStep(nn.Module):
    """One MEFC step: weighted experts, concatenated, 1x1 conv + ReLU, residual + ReLU.

    x: (N, C, H, W), weights: (N, num_experts) -> (N, C, H, W).

    The forward uses linearity: ``fuse(cat_i(w_i * pw_i(d_i)))`` equals ``sum_i (w_i F_i pw_i) d_i``, with
    F_i the slice of the fuse conv that reads expert i and d_i the expert up to its last 1x1 conv.
    The per-sample C x C matrices w_i F_i pw_i are formed from the weights (tiny) and applied to the
    d_i in batched products accumulated into one output, which replaces seven 1x1 convs, eight scalings
    and the concatenation per step. The 1x1 depth-wise convs of the 1x1 expert (per-channel scales)
    fold into its 1x1 convs.
    """

    def __init__(self, channels):
        super().__init__()
        self.experts = build_experts(channels)
        self.fuse = nn.Conv2d(channels * len(self.experts), channels, 1, bias=False)
        self.act = nn.ReLU()

    def forward(self, x, weights):
        n, c, h, w = x.shape
        experts = self.experts
        sep1 = experts['sep1x1']
        # The 1x1 expert: pw2(dw2 * relu(pw1(dw1 * x))) with the scales folded into the 1x1 convs.
        pw1 = sep1.pw1.weight.reshape(c, c) * sep1.dw1.weight.reshape(1, c)
        parts = [F.relu_(F.conv2d(x, pw1.reshape(c, c, 1, 1)))]
        last = [sep1.pw2.weight.reshape(c, c) * sep1.dw2.weight.reshape(1, c)]
        for name in ('sep3x3', 'sep5x5', 'sep7x7'):
            e = experts[name]
            y = F.relu_(e.pw1(depthwise_conv2d(x, e.dw1.weight, padding=e.dw1.padding[0])))
            parts.append(depthwise_conv2d(y, e.dw2.weight, padding=e.dw2.padding[0]))
            last.append(e.pw2.weight.reshape(c, c))
        for name in ('dil3x3', 'dil5x5', 'dil7x7'):
            e = experts[name]
            dw = e.dw
            parts.append(depthwise_conv2d(x, dw.weight, padding=dw.padding[0], dilation=dw.dilation[0]))
            last.append(e.pw.weight.reshape(c, c))
        parts.append(experts['avg3x3'](x))
        last.append(torch.eye(c, dtype=x.dtype, device=x.device))
        # combined[o, i, :] = F_i[o, :] @ last_i; scaled per sample by the gate weight of expert i.
        fuse = self.fuse.weight.reshape(c, len(last), c)
        combined = torch.einsum('oik,ikj->ioj', fuse, torch.stack(last))
        matrices = combined.unsqueeze(1) * weights.t().reshape(-1, n, 1, 1)  # (experts, n, c_out, c_in)
        # One batched product per expert, accumulated: a channels-last part is a (n, H*W, c) view.
        out = None
        for part, matrix in zip(parts, matrices):
            rows = part.permute(0, 2, 3, 1).reshape(n, h * w, c)
            matrix = matrix.transpose(1, 2).to(rows.dtype)  # in-place products are not autocast
            out = torch.bmm(rows, matrix) if out is None else out.baddbmm_(rows, matrix)
        out = F.relu_(out).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return F.relu_(out + x)


class ExpertGate(nn.Module):
    """Gate from the global average of the input: (N, C, H, W) -> (N, steps, num_experts) softmax weights.

    Two linear layers C -> 2*steps*num_experts -> steps*num_experts with a ReLU between;
    the softmax is over the experts of each step.
    """

    def __init__(self, channels, steps, num_experts):
        super().__init__()
        self.steps = steps
        self.num_experts = num_experts
        self.fc1 = nn.Linear(channels, 2 * steps * num_experts)
        self.fc2 = nn.Linear(2 * steps * num_experts, steps * num_experts)
        self.act = nn.ReLU()

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        logits = self.fc2(self.act(self.fc1(z)))
        return logits.view(-1, self.steps, self.num_experts).softmax(dim=-1)


class MEFC(nn.Module):
    """Mixture-of-experts feature compensator as released: (N, C, H, W) -> (N, C, H, W).

    The gate looks at the input; the input goes through a 1x1 conv + ReLU, then
    ``steps`` expert steps, each with its own row of gate weights. As in the
    release there is no residual from the MEFC input to its output (the paper's
    Eq. 9 has one); each step has its own residual.
    """

    def __init__(self, channels, steps=4):
        super().__init__()
        self.gate = ExpertGate(channels, steps, NUM_EXPERTS)
        self.preprocess = nn.Conv2d(channels, channels, 1, bias=False)
        self.steps = nn.ModuleList(ExpertStep(channels) for _ in range(steps))
        self.act = nn.ReLU()

    def forward(self, x):
        weights = self.gate(x)
        out = F.relu_(self.preprocess(x))
        for i, step in enumerate(self.steps):
            out = step(out, weights[:, i])
        return out
