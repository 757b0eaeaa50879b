"""Mixed-scale feed-forward network (MSFN) of DRSformer, as in the official release."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _fused_layout(hidden):
    """Channel plan of the fused MSFN (index tensors of length 4*hidden).

    The release's grouped convs (``hidden`` groups of 2 input channels) sum, for output j of the 3x3
    (5x5) branch, a 3x3 (5x5) conv of inputs 2j and 2j+1 of ``first = [p3[:h], p5[:h]]`` (``second =
    [p3[h:], p5[h:]]``), p3/p5 being the ReLU'd 3x3/5x5 depth-wise outputs. The fused form computes
    every such input channel once, ordered as [partner 0 of branch 3, partner 0 of branch 5,
    partner 1 of branch 3, partner 1 of branch 5] (hidden channels each), so that a depth-wise conv
    of all 4*hidden channels followed by ``y[:, :2h] + y[:, 2h:]`` gives [x3, x5] in the release's order.

    Returns (source, stage1, stage2): the project_in channel each slot reads, its stage-1 kernel
    (index into cat([dwconv3x3 padded to 5x5, dwconv5x5])) and its stage-2 kernel (index into
    cat([dwconv3x3_1 flattened and padded, dwconv5x5_1 flattened])).
    """
    source, stage1, stage2 = [], [], []
    for partner in (0, 1):
        for branch in (0, 1):  # 0: grouped 3x3 on `first`, 1: grouped 5x5 on `second`
            for j in range(hidden):
                e = 2 * j + partner  # input channel of the grouped conv
                if e < hidden:  # a p3 channel: p3[e] (first) or p3[h + e] (second)
                    src, kernel5 = e + branch * hidden, False
                else:  # a p5 channel: p5[e - h] (first) or p5[e] (second)
                    src, kernel5 = e - hidden + branch * hidden, True
                source.append(src)
                stage1.append(src + (2 * hidden if kernel5 else 0))
                stage2.append(branch * 2 * hidden + 2 * j + partner)
    return [torch.tensor(i, dtype=torch.long) for i in (source, stage1, stage2)]


class MSFN(nn.Module):
    """Mixed-scale feed-forward network: (N, dim, H, W) -> (N, dim, H, W).

    A 1x1 conv expands to 2*hidden channels (hidden = int(dim * expansion)); parallel
    3x3 and 5x5 depth-wise convs with ReLU each give two halves (a3, b3) and (a5, b5);
    [a3, a5] goes through a grouped 3x3 conv and [b3, b5] through a grouped 5x5 conv
    (hidden groups, 2*hidden -> hidden channels each, ReLU); their concatenation is
    projected back to dim by a 1x1 conv. Parameter names follow the release.

    The forward computes the same function without the grouped convs (a slow path on CPU) and the
    chunk/cat copies: the expansion writes the 4*hidden channels the grouped convs read, in the order of
    ``_fused_layout``; one depth-wise 5x5 conv (3x3 kernels zero-padded) and a ReLU give them; a second
    depth-wise 5x5 conv gives each grouped conv's two per-input terms, and one addition of the two halves
    sums them. The fused weights are gathered from the release's parameters in every forward (gradients
    flow to them).
    """

    def __init__(self, dim, expansion=2.66, bias=False):
        super().__init__()
        hidden = int(dim * expansion)
        self.hidden_features = hidden
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.dwconv5x5 = nn.Conv2d(hidden * 2, hidden * 2, 5, padding=2, groups=hidden * 2, bias=bias)
        self.dwconv3x3_1 = nn.Conv2d(hidden * 2, hidden, 3, padding=1, groups=hidden, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(hidden * 2, hidden, 5, padding=2, groups=hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden * 2, dim, kernel_size=1, bias=bias)
        self.act = nn.ReLU()
        source, stage1, stage2 = _fused_layout(hidden)
        self.register_buffer('_source', source, persistent=False)
        self.register_buffer('_stage1', stage1, persistent=False)
        self.register_buffer('_stage2', stage2, persistent=False)

    def fused_weights(self):
        """(project_in weight, bias), (stage-1 kernels, bias), (stage-2 kernels, bias) of the fused form."""
        hid2 = 2 * self.hidden_features
        w_in = self.project_in.weight.index_select(0, self._source)
        k1 = torch.cat([F.pad(self.dwconv3x3.weight, (1, 1, 1, 1)), self.dwconv5x5.weight]).index_select(0, self._stage1)
        k2 = torch.cat([F.pad(self.dwconv3x3_1.weight.reshape(hid2, 1, 3, 3), (1, 1, 1, 1)),
                        self.dwconv5x5_1.weight.reshape(hid2, 1, 5, 5)]).index_select(0, self._stage2)
        b_in = b1 = b2 = None
        if self.project_in.bias is not None:
            b_in = self.project_in.bias.index_select(0, self._source)
            b1 = torch.cat([self.dwconv3x3.bias, self.dwconv5x5.bias]).index_select(0, self._stage1)
            # Each grouped-conv bias is added once: with the first partner.
            b2 = torch.cat([self.dwconv3x3_1.bias, self.dwconv5x5_1.bias])
            b2 = torch.cat([b2, torch.zeros_like(b2)])
        return (w_in, b_in), (k1, b1), (k2, b2)

    def forward(self, x, residual=None):
        """(N, dim, H, W) -> (N, dim, H, W), channels-last; ``residual`` is added in the output product."""
        n, dim, h, w = x.shape
        hid2 = 2 * self.hidden_features
        (w_in, b_in), (k1, b1), (k2, b2) = self.fused_weights()
        y = F.conv2d(x, w_in, b_in)
        y = F.relu_(F.conv2d(y, k1, b1, padding=2, groups=2 * hid2))
        y = F.conv2d(y, k2, b2, padding=2, groups=2 * hid2)
        y = F.relu_(y[:, :hid2] + y[:, hid2:])
        # project_out as one matrix product over the pixels (channels-last rows), adding the residual.
        rows = y.permute(0, 2, 3, 1).reshape(n * h * w, hid2)
        weight = self.project_out.weight.reshape(dim, hid2).t()
        if residual is None:
            out = rows @ weight
        else:
            out = torch.addmm(residual.permute(0, 2, 3, 1).reshape(n * h * w, dim), rows, weight)
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
