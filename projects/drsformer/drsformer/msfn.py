"""Mixed-scale feed-forward network (MSFN) of DRSformer, as in the official release."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .depthwise import depthwise_conv2d


def pair_plan(hidden):
    """How the release's grouped convs pair their inputs, in the fused form's channel order.

    The grouped 3x3 conv reads ``first = [p3[:h], p5[:h]]`` (h = hidden; p3/p5 the ReLU'd 3x3/5x5
    depth-wise outputs) and sums, for output j, its inputs 2j and 2j+1; the 5x5 one does the same on
    ``second = [p3[h:], p5[h:]]``. The fused form computes p3 and p5 of each half with the half's
    channels ordered evens first, then odds (``order``), so that every pair becomes two aligned channel
    ranges. Returns (order, pieces): pieces are (start_j, length, (tensor_a, start_a), (tensor_b, start_b))
    meaning ``out[j0 + i] = term[tensor_a][start_a + i] + term[tensor_b][start_b + i]``, with tensor 0
    the half's p3 terms and 1 its p5 terms. With h odd, the pair j = (h-1)/2 straddles p3 and p5.
    """
    evens, odds = list(range(0, hidden, 2)), list(range(1, hidden, 2))
    order = torch.tensor(evens + odds, dtype=torch.long)
    m, n_even = hidden // 2, len(evens)
    if hidden % 2 == 0:  # pairs (2i, 2i+1) inside p3, then inside p5
        pieces = [(0, m, (0, 0), (0, n_even)), (m, m, (1, 0), (1, n_even))]
    else:  # p3 pairs (2i, 2i+1), i < m; p3[h-1] with p5[0]; p5 pairs (2i-1, 2i), i = 1..m
        pieces = [(0, m, (0, 0), (0, n_even)), (m, 1, (0, m), (1, 0)), (m + 1, m, (1, n_even), (1, 1))]
    return order, [p for p in pieces if p[1] > 0]


class PairSumReLU(torch.autograd.Function):
    """The grouped conv's pair sums, bias and ReLU: (terms0, terms1, bias) -> (N, hidden, H, W).

    ``y[j0 + i] = relu(terms[ta][sa + i] + terms[tb][sb + i] + bias[j0 + i])`` for each ``pair_plan``
    piece. Every channel of the two terms feeds exactly one output, so the backward is a scatter of the
    masked output gradient into two fresh tensors: no zero-filled gradient per channel slice, and no
    in-place writes into views (which autograd replays with copies of the whole base tensor).
    """

    @staticmethod
    def forward(ctx, terms0, terms1, bias, pieces):
        terms = (terms0, terms1)
        y = torch.empty_like(terms0)
        for j0, length, (ta, sa), (tb, sb) in pieces:
            torch.add(terms[ta][:, sa:sa + length], terms[tb][:, sb:sb + length], out=y[:, j0:j0 + length])
        if bias is not None:
            y.add_(bias.view(1, -1, 1, 1))
        y.relu_()
        ctx.save_for_backward(y)
        ctx.pieces = pieces
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        y, = ctx.saved_tensors
        grad = torch.ops.aten.threshold_backward(grad_y, y, 0)  # ReLU's own backward (masked_fill is ~10x slower)
        grads = (torch.empty_like(y), torch.empty_like(y))
        for j0, length, (ta, sa), (tb, sb) in ctx.pieces:
            grads[ta][:, sa:sa + length].copy_(grad[:, j0:j0 + length])
            grads[tb][:, sb:sb + length].copy_(grad[:, j0:j0 + length])
        grad_bias = grad.sum(dim=(0, 2, 3)) if ctx.has_bias else None
        return grads[0], grads[1], grad_bias, None


class MSFN(nn.Module):
    """Mixed-scale feed-forward network: (N, dim, H, W) -> (N, dim, H, W).

    A 1x1 conv expands to 2*hidden channels (hidden = int(dim * expansion)); parallel
    3x3 and 5x5 depth-wise convs with ReLU each give two halves (a3, b3) and (a5, b5);
    [a3, a5] goes through a grouped 3x3 conv and [b3, b5] through a grouped 5x5 conv
    (hidden groups, 2*hidden -> hidden channels each, ReLU); their concatenation is
    projected back to dim by a 1x1 conv. Parameter names follow the release.

    The forward computes the same function without the grouped convs (a slow path on CPU) and the
    chunk/cat copies: each half of the expansion is its own product, with channels in ``pair_plan``'s
    order; each half goes through its 3x3 and 5x5 depth-wise convs and then, per-channel, through the
    grouped conv's kernel for that input (a depth-wise conv); the grouped conv's sums of two inputs become
    additions of aligned channel ranges (``PairSumReLU``, with bias and ReLU), and the 1x1 output conv is
    accumulated over the two halves. Same multiply-adds as the release, no padding, no concatenation.
    The fused weights are gathered from the release's parameters in every forward (gradients flow to
    them). Depth-wise convs larger than 3x3 use ``depthwise_conv2d``'s faster weight gradient.
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
        order, self._pieces = pair_plan(hidden)
        self.register_buffer('_order', order, persistent=False)

    def forward(self, x, residual=None):
        """(N, dim, H, W) -> (N, dim, H, W), channels-last; ``residual`` is added in the output product."""
        n, dim, h, w = x.shape
        hid = self.hidden_features
        out = None
        w_out = self.project_out.weight.reshape(dim, 2 * hid)
        rows_res = None if residual is None else residual.permute(0, 2, 3, 1).reshape(n * h * w, dim)
        stage2 = (self.dwconv3x3_1, self.dwconv5x5_1)
        for half in (0, 1):  # 0: the grouped 3x3 conv's inputs, 1: the grouped 5x5 conv's
            idx = self._order + half * hid
            bias_in = self.project_in.bias
            expanded = F.conv2d(x, self.project_in.weight.index_select(0, idx),
                                None if bias_in is None else bias_in.index_select(0, idx))
            terms = []
            for t, conv in enumerate((self.dwconv3x3, self.dwconv5x5)):
                p = F.relu_(depthwise_conv2d(expanded, conv.weight.index_select(0, idx),
                                             None if conv.bias is None else conv.bias.index_select(0, idx),
                                             padding=conv.padding[0]))
                # The grouped conv's kernel for each of these inputs (input e of the grouped conv is
                # p3[e] for e < h, else p5[e - h], within this half).
                grouped = stage2[half]
                k = grouped.weight.reshape(2 * hid, 1, *grouped.kernel_size).index_select(0, self._order + t * hid)
                terms.append(depthwise_conv2d(p, k, padding=grouped.padding[0]))
            y = PairSumReLU.apply(terms[0], terms[1], stage2[half].bias, self._pieces)
            # A channels-last (N, hidden, H, W) tensor is a (pixels, hidden) matrix.
            rows = y.permute(0, 2, 3, 1).reshape(n * h * w, hid)
            weight = w_out[:, half * hid:(half + 1) * hid].t()
            if out is None:  # the first half starts from the residual (never written in place)
                out = rows @ weight if rows_res is None else torch.addmm(rows_res, rows, weight)
            else:
                # In-place products are not autocast: the weight follows the rows (bfloat16 under autocast).
                out = out.addmm_(rows, weight.to(rows.dtype))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
