"""Mixture-of-experts feature compensator (MEFC) of DRSformer (paper Eqs. 8-9, in the official release's
form), with the expert subsets of the paper's Table 4 (rows d-f: 1, 4 or 8 experts)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .fast_kernels import check_device_kernels, cpu_kernels, depthwise_conv2d, pointwise_conv2d

# The release's eight experts, in its order (the gate's outputs index them in this order). Receptive
# fields: separable kxk 2k-1 (two kxk depth-wise convs), dilated kxk 2k-1 (dilation 2), average 3.
EXPERT_NAMES = ('sep1x1', 'sep3x3', 'sep5x5', 'sep7x7', 'dil3x3', 'dil5x5', 'dil7x7', 'avg3x3')
# Table 4 gives only the number of experts. The subsets are nested (1 in 4 in 8). Four experts: one per
# receptive field of the eight from 3 to 13 pixels (3, 5, 9, 13), alternating separable and dilated
# where both exist, so that every kind of operation stays; the 1x1 separable expert (no spatial
# context) is the one left out. One expert: the separable 3x3, the smallest spatial separable conv.
EXPERT_SUBSETS = {
    8: EXPERT_NAMES,
    4: ('sep3x3', 'sep7x7', 'dil5x5', 'avg3x3'),
    1: ('sep3x3',),
}


def check_experts(experts):
    """The expert names for ``experts``: a count in ``EXPERT_SUBSETS`` or a list of names (any subset of
    ``EXPERT_NAMES``), returned in the release's order."""
    if isinstance(experts, int) and not isinstance(experts, bool):
        if experts in EXPERT_SUBSETS:
            return EXPERT_SUBSETS[experts]
    elif isinstance(experts, (list, tuple)) and experts and all(isinstance(e, str) for e in experts) \
            and set(experts) <= set(EXPERT_NAMES) and len(set(experts)) == len(experts):
        return tuple(e for e in EXPERT_NAMES if e in experts)
    raise ValueError(f'MEFC: experts={experts!r} (DRSformer\'s mefc_experts); expected one of the counts '
                     f'{sorted(EXPERT_SUBSETS)} '
                     f'(subsets {EXPERT_SUBSETS[4]} for 4, {EXPERT_SUBSETS[1]} for 1) or a list of distinct '
                     f'names from {EXPERT_NAMES}')


class SepConv(nn.Module):
    """Separable conv expert: (depth-wise kxk, 1x1, ReLU) then (depth-wise kxk, 1x1), no biases."""

    def __init__(self, channels, kernel_size):
        super().__init__()
        pad = kernel_size // 2
        self.dw1 = nn.Conv2d(channels, channels, kernel_size, padding=pad, groups=channels, bias=False)
        self.pw1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.dw2 = nn.Conv2d(channels, channels, kernel_size, padding=pad, groups=channels, bias=False)
        self.pw2 = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x):
        return self.pw2(self.dw2(F.relu(self.pw1(self.dw1(x)))))


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


def build_expert(name, channels):
    """One expert by name ('sep3x3', 'dil5x5', 'avg3x3', ...)."""
    kind, size = name[:3], int(name[3])
    if kind == 'sep':
        return SepConv(channels, size)
    if kind == 'dil':
        return DilConv(channels, size)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class ExpertStep(nn.Module):
    """One MEFC step: weighted experts, concatenated, 1x1 conv + ReLU, residual + ReLU.

    x: (N, C, H, W), weights: (N, number of experts) -> (N, C, H, W). ``fast=False`` runs the release's
    formulation (``forward_plain``), ``fast=True`` the same function with the experts' last 1x1 convs
    and weights folded into the fuse conv (``forward_fast``), whose depth-wise convs take the CPU's
    faster weight gradient on the CPU only (``device_kernels``, see ``fast_kernels.cpu_kernels``).
    """

    def __init__(self, channels, experts=EXPERT_NAMES, fast=True, device_kernels='auto'):
        super().__init__()
        self.fast = fast
        self.device_kernels = check_device_kernels(device_kernels)
        self.experts = nn.ModuleDict((name, build_expert(name, channels)) for name in experts)
        self.fuse = nn.Conv2d(channels * len(self.experts), channels, 1, bias=False)

    def forward(self, x, weights):
        return self.forward_fast(x, weights) if self.fast else self.forward_plain(x, weights)

    def forward_plain(self, x, weights):
        """``relu(relu(fuse([w_1 e_1(x), ..., w_O e_O(x)])) + x)`` as released."""
        states = [expert(x) * weights[:, i].view(-1, 1, 1, 1) for i, expert in enumerate(self.experts.values())]
        return F.relu(F.relu(self.fuse(torch.cat(states, dim=1))) + x)

    def forward_fast(self, x, weights):
        """``forward_plain`` by linearity: ``fuse(cat_i(w_i * pw_i(d_i)))`` equals ``sum_i (w_i F_i pw_i) d_i``,
        with F_i the slice of the fuse conv that reads expert i and d_i the expert up to its last 1x1 conv.

        The per-sample C x C matrices w_i F_i pw_i are formed from the weights (tiny) and applied to the
        d_i in batched products accumulated into one output, which replaces the experts' last 1x1
        convs, their scalings and the concatenation. The depth-wise convs of a 1x1 separable expert
        (per-channel scales) fold into its 1x1 convs. Fastest on channels-last input.
        """
        n, c, h, w = x.shape
        custom_grad = cpu_kernels(self.device_kernels, x)
        parts, last = [], []  # d_i and the matrix of expert i's last 1x1 conv
        for expert in self.experts.values():
            if isinstance(expert, SepConv) and expert.dw1.kernel_size[0] == 1:
                # pw2(dw2 * relu(pw1(dw1 * x))) with the scales folded into the 1x1 convs.
                pw1 = expert.pw1.weight.reshape(c, c) * expert.dw1.weight.reshape(1, c)
                parts.append(F.relu_(pointwise_conv2d(x, pw1.reshape(c, c, 1, 1))))
                last.append(expert.pw2.weight.reshape(c, c) * expert.dw2.weight.reshape(1, c))
            elif isinstance(expert, SepConv):
                y = depthwise_conv2d(x, expert.dw1.weight, padding=expert.dw1.padding[0],
                                     custom_grad=custom_grad)
                y = F.relu_(pointwise_conv2d(y, expert.pw1.weight, expert.pw1.bias))
                parts.append(depthwise_conv2d(y, expert.dw2.weight, padding=expert.dw2.padding[0],
                                              custom_grad=custom_grad))
                last.append(expert.pw2.weight.reshape(c, c))
            elif isinstance(expert, DilConv):
                dw = expert.dw
                parts.append(depthwise_conv2d(x, dw.weight, padding=dw.padding[0], dilation=dw.dilation[0],
                                              custom_grad=custom_grad))
                last.append(expert.pw.weight.reshape(c, c))
            else:  # average pooling: no 1x1 conv
                parts.append(expert(x))
                last.append(torch.eye(c, dtype=x.dtype, device=x.device))
        # combined[i, o, :] = F_i[o, :] @ last_i; scaled per sample by the gate weight of expert i.
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
    """Gate from the global average of the input (Eq. 8): (N, C, H, W) -> (N, steps, experts) softmax weights.

    Two linear layers C -> 2*steps*experts -> steps*experts with a ReLU between (Eq. 9's W_1, W_2); the
    softmax is over the experts of each step. The plain path averages with ``adaptive_avg_pool2d`` as
    released, the fast path with ``mean`` (the same numbers).
    """

    def __init__(self, channels, steps, num_experts, fast=True):
        super().__init__()
        self.steps = steps
        self.num_experts = num_experts
        self.fast = fast
        self.fc1 = nn.Linear(channels, 2 * steps * num_experts)
        self.fc2 = nn.Linear(2 * steps * num_experts, steps * num_experts)

    def forward(self, x):
        z = x.mean(dim=(2, 3)) if self.fast else F.adaptive_avg_pool2d(x, 1).flatten(1)
        logits = self.fc2(F.relu(self.fc1(z)))
        return logits.view(-1, self.steps, self.num_experts).softmax(dim=-1)


class MEFC(nn.Module):
    """Mixture-of-experts feature compensator as released: (N, C, H, W) -> (N, C, H, W).

    The gate looks at the input; the input goes through a 1x1 conv + ReLU, then ``steps`` expert steps,
    each with its own row of gate weights. As in the release there is no residual from the MEFC input
    to its output (the paper's Eq. 9 has one); each step has its own residual.

    ``experts``: 8 (the release's), 4 or 1 (the subsets of ``EXPERT_SUBSETS``) or a list of expert names.
    With a single expert there is no gate: a softmax over one expert is 1 whatever its input, so the
    gate's layers would be parameters without gradient; the expert's weight is 1.
    """

    def __init__(self, channels, steps=4, experts=8, fast=True, device_kernels='auto'):
        super().__init__()
        names = check_experts(experts)
        self.gate = ExpertGate(channels, steps, len(names), fast=fast) if len(names) > 1 else None
        self.preprocess = nn.Conv2d(channels, channels, 1, bias=False)
        self.steps = nn.ModuleList(ExpertStep(channels, names, fast=fast, device_kernels=device_kernels)
                                   for _ in range(steps))

    @property
    def expert_names(self):
        return tuple(self.steps[0].experts)

    def gate_weights(self, x):
        """(N, steps, experts) weights of the experts at each step."""
        if self.gate is None:
            return x.new_ones(x.shape[0], len(self.steps), 1)
        return self.gate(x)

    def forward(self, x):
        weights = self.gate_weights(x)
        out = F.relu_(self.preprocess(x))
        for i, step in enumerate(self.steps):
            out = step(out, weights[:, i])
        return out
