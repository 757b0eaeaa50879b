"""Mixture-of-experts feature compensator (MEFC) of DRSformer, in the official release's form."""
from collections import OrderedDict

import torch
import torch.nn as nn


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
    """

    def __init__(self, channels):
        super().__init__()
        self.experts = build_experts(channels)
        self.fuse = nn.Conv2d(channels * len(self.experts), channels, 1, bias=False)
        self.act = nn.ReLU()

    def forward(self, x, weights):
        mixed = [expert(x) * weights[:, i].view(-1, 1, 1, 1) for i, expert in enumerate(self.experts.values())]
        out = self.act(self.fuse(torch.cat(mixed, dim=1)))
        return self.act(out + x)


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
        out = self.act(self.preprocess(x))
        for i, step in enumerate(self.steps):
            out = step(out, weights[:, i])
        return out
