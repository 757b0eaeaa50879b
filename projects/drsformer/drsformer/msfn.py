"""Mixed-scale feed-forward network (MSFN) of DRSformer, as in the official release."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .depthwise import depthwise_conv2d


def grouped_inputs(hidden, j):
    """The two inputs of output j of a half's grouped conv, as (branch, channel) pairs.

    The grouped 3x3 conv reads ``first = [p3[:h], p5[:h]]`` (h = hidden; p3/p5 the ReLU'd 3x3/5x5
    depth-wise outputs) and sums, for output j, its inputs 2j and 2j+1; the 5x5 one does the same on
    ``second = [p3[h:], p5[h:]]``. Branch 0 is p3, 1 is p5; the channel is within the half.
    """
    return tuple((0, e) if e < hidden else (1, e - hidden) for e in (2 * j, 2 * j + 1))


class ChunkPlan:
    """How to compute some outputs of a half's grouped conv from the expanded channels they need.

    ``order``: the expanded channels (within the half) to compute, evens first, then odds, so that the
    pairs of consecutive outputs are aligned channel ranges of the branch terms; ``outputs``: the
    grouped conv outputs, in the order ``PairSumReLU`` produces them; ``pieces``: (start, length,
    (branch_a, pos_a), (branch_b, pos_b)) meaning ``y[start + i] = term[branch_a][pos_a + i] +
    term[branch_b][pos_b + i]``; ``unused``: (branch, position) entries no output reads (their gradient
    is zero).
    """

    def __init__(self, hidden, outputs):
        inputs = [grouped_inputs(hidden, j) for j in outputs]
        channels = sorted({c for pair in inputs for _, c in pair})
        order = [c for c in channels if c % 2 == 0] + [c for c in channels if c % 2 == 1]
        pos = {c: i for i, c in enumerate(order)}
        pieces = []
        for i, ((ta, ca), (tb, cb)) in enumerate(inputs):
            a, b = (ta, pos[ca]), (tb, pos[cb])
            last = pieces[-1] if pieces else None
            if last and last[0] + last[1] == i and last[2] == (ta, a[1] - last[1]) \
                    and last[3] == (tb, b[1] - last[1]):
                pieces[-1] = (last[0], last[1] + 1, last[2], last[3])
            else:
                pieces.append((i, 1, a, b))
        used = {(t, pos[c]) for pair in inputs for t, c in pair}
        self.order = torch.tensor(order, dtype=torch.long)
        self.outputs = torch.tensor(outputs, dtype=torch.long)
        self.pieces = pieces
        self.unused = [(t, i) for t in (0, 1) for i in range(len(order)) if (t, i) not in used]


def chunk_plans(hidden, chunks):
    """Split a half's grouped conv into about ``chunks`` independent parts, each a :class:`ChunkPlan`.

    Output j < h/2 pairs p3 channels (2j, 2j+1); the outputs after it pair p5 channels (2i, 2i+1) for
    even h, (2i+1, 2i+2) for odd h, where output (h-1)/2 pairs p3[h-1] with p5[0]. A chunk takes a
    range of i for both branches (so p3 and p5 share its expanded channels); the odd-h straddling output
    joins the first chunk.
    """
    m = hidden // 2
    p5_start = m if hidden % 2 == 0 else m + 1
    chunks = max(1, min(chunks, m))
    bounds = [round(k * m / chunks) for k in range(chunks + 1)]
    plans = []
    for k in range(chunks):
        a, b = bounds[k], bounds[k + 1]
        outputs = list(range(a, b)) + list(range(p5_start + a, p5_start + b))
        if hidden % 2 and k == 0:
            outputs.append(m)
        plans.append(ChunkPlan(hidden, outputs))
    return plans


def _empty_like_layout(t, shape):
    """An uninitialised tensor of ``shape`` with ``t``'s dtype, device and (channels-last or not) layout."""
    layout = torch.channels_last if t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    return torch.empty(shape, dtype=t.dtype, device=t.device, memory_format=layout)


def pair_sum_relu(terms0, terms1, bias, plan):
    """``PairSumReLU``'s forward without autograd (inference, tracing): (N, outputs, H, W)."""
    terms = (terms0, terms1)
    n, _, h, w = terms0.shape
    y = _empty_like_layout(terms0, (n, len(plan.outputs), h, w))
    for s, length, (ta, pa), (tb, pb) in plan.pieces:
        torch.add(terms[ta][:, pa:pa + length], terms[tb][:, pb:pb + length], out=y[:, s:s + length])
    if bias is not None:
        y.add_(bias.view(1, -1, 1, 1))
    return y.relu_()


class PairSumReLU(torch.autograd.Function):
    """A chunk's grouped-conv pair sums, bias and ReLU: (terms0, terms1, bias) -> (N, outputs, H, W).

    ``y[s + i] = relu(terms[ta][pa + i] + terms[tb][pb + i] + bias[s + i])`` for each piece of a
    :class:`ChunkPlan`. Every used channel of the two terms feeds exactly one output, so the backward
    is a scatter of the masked output gradient into two fresh tensors (zero where unused): no
    zero-filled gradient per channel slice, and no in-place writes into views (which autograd replays
    with copies of the whole base tensor).
    """

    @staticmethod
    def forward(ctx, terms0, terms1, bias, plan):
        y = pair_sum_relu(terms0, terms1, bias, plan)
        ctx.save_for_backward(y)
        ctx.plan = plan
        ctx.has_bias = bias is not None
        ctx.term_shape = terms0.shape
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        y, = ctx.saved_tensors
        grad = torch.ops.aten.threshold_backward(grad_y, y, 0)  # ReLU's own backward (masked_fill is ~10x slower)
        grads = tuple(_empty_like_layout(y, ctx.term_shape) for _ in range(2))
        for s, length, (ta, pa), (tb, pb) in ctx.plan.pieces:
            grads[ta][:, pa:pa + length].copy_(grad[:, s:s + length])
            grads[tb][:, pb:pb + length].copy_(grad[:, s:s + length])
        for t, i in ctx.plan.unused:
            grads[t][:, i].zero_()
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
    chunk/cat copies. The outputs of each half's grouped conv are split into chunks (``chunk_plans``;
    one chunk unless an intermediate would exceed ``chunk_bytes``), each computed from only the expanded
    channels it reads, ordered evens then odds: a product with those rows of the 1x1 input conv, the
    3x3 and 5x5 depth-wise convs, then per channel the grouped conv's kernel for that input (a
    depth-wise conv); the grouped conv's sums of two inputs become additions of aligned channel ranges
    (``PairSumReLU``, with bias and ReLU), and the 1x1 output conv is accumulated chunk by chunk onto
    the residual. Same multiply-adds as the release, no padding, no concatenation. The fused weights
    are gathered from the release's parameters in every forward (gradients flow to them). Depth-wise
    convs larger than 3x3 use ``depthwise_conv2d``'s faster weight gradient.
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
        self._plans = {}

    # Largest intermediate (bytes) one chunk of the MSFN may create: blocks above glibc's largest mmap
    # threshold (32 MB) are unmapped when freed and page-faulted (zeroed) in again at every allocation,
    # which measured as about half of a full-resolution MSFN's time (dim 96, 255 hidden channels at
    # 256x256: 732 ms in one piece, 346 ms in chunks).
    chunk_bytes = 24 * 2 ** 20

    def plans(self, pixels, itemsize):
        """The chunk plans for ``pixels`` (N*H*W) values of ``itemsize`` bytes per hidden channel."""
        # int(): under tracing (FLOP counting) sizes are tensors; the plan is fixed per input size anyway.
        chunks = -(-int(pixels) * self.hidden_features * itemsize // self.chunk_bytes)
        if chunks not in self._plans:
            self._plans[chunks] = chunk_plans(self.hidden_features, chunks)
        return self._plans[chunks]

    def forward(self, x, residual=None):
        """(N, dim, H, W) -> (N, dim, H, W), channels-last; ``residual`` is added in the output product."""
        n, dim, h, w = x.shape
        hid = self.hidden_features
        out = None
        w_in, b_in = self.project_in.weight, self.project_in.bias
        w_out = self.project_out.weight.reshape(dim, 2 * hid)
        rows_res = None if residual is None else residual.permute(0, 2, 3, 1).reshape(n * h * w, dim)
        stage2 = (self.dwconv3x3_1, self.dwconv5x5_1)

        def pick(t, idx):
            return None if t is None else t.index_select(0, idx)

        for half in (0, 1):  # 0: the grouped 3x3 conv's inputs, 1: the grouped 5x5 conv's
            grouped = stage2[half]
            kernels = grouped.weight.reshape(2 * hid, 1, *grouped.kernel_size)
            for plan in self.plans(n * h * w, x.element_size()):
                order, outputs = plan.order.to(x.device), plan.outputs.to(x.device)
                idx = order + half * hid
                expanded = F.conv2d(x, w_in.index_select(0, idx), pick(b_in, idx))
                terms = []
                for t, conv in enumerate((self.dwconv3x3, self.dwconv5x5)):
                    p = F.relu_(depthwise_conv2d(expanded, conv.weight.index_select(0, idx), pick(conv.bias, idx),
                                                 padding=conv.padding[0]))
                    # The grouped conv's kernel for each of these inputs (input t * hid + c is branch t's
                    # channel c within this half).
                    terms.append(depthwise_conv2d(p, kernels.index_select(0, order + t * hid),
                                                  padding=grouped.padding[0]))
                bias = pick(grouped.bias, outputs)
                if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (*terms, bias)):
                    y = PairSumReLU.apply(terms[0], terms[1], bias, plan)
                else:
                    y = pair_sum_relu(terms[0], terms[1], bias, plan)
                # A channels-last (N, C, H, W) tensor is a (pixels, C) matrix.
                rows = y.permute(0, 2, 3, 1).reshape(n * h * w, len(outputs))
                weight = w_out.index_select(1, outputs + half * hid).t()
                if out is None:  # the first chunk starts from the residual (never written in place)
                    out = rows @ weight if rows_res is None else torch.addmm(rows_res, rows, weight)
                else:
                    # In-place products are not autocast: the weight follows the rows (bfloat16 under autocast).
                    out = out.addmm_(rows, weight.to(rows.dtype))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
