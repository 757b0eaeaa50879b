"""The fast path's kernels: helpers that the modules' fast paths (``fast=True``) call.

Nothing here is part of the paper's maths; each function computes exactly what a plain expression
computes (tests hold them equal), only faster on CPU. Which of them a fast path uses is decided per
device at forward time (``cpu_kernels``): the MSFN pair sums and chunks and the depth-wise weight
gradient were measured on CPU only, so on other devices the modules use the plain operations for
those parts; ``pointwise_conv2d`` checks the tensor's device itself (oneDNN on CPU float32 only);
``topk_rank`` (one sort instead of one per k) is used on every device.

* ``topk_rank``: one sorted top-k per attention row gives the masks of every k (TKSA);
* ``chunk_plans`` / ``ChunkPlan`` / ``PairSumReLU``: the MSFN's grouped convs (two inputs per group)
  as depth-wise convs whose pair sums are additions of aligned channel ranges, in chunks of bounded
  size (MSFN);
* ``depthwise_conv2d``: a depth-wise conv whose weight gradient for kernels larger than 3x3 (or
  dilated) is computed as a depth-wise conv (MSFN, MEFC);
* ``pointwise_conv2d``: a 1x1 conv computed by oneDNN on CPU in float32 whatever the thread count
  (TKSA, MSFN, MEFC, the decoder's channel reductions).
"""
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import pointwise_conv2d  # noqa: F401 (the plugin's modules import it from here)

# Which device's formulations a module's fast path uses: 'auto' follows the tensor ('cpu' on the
# CPU, 'cuda' on any other device), 'cpu' / 'cuda' force one (tests run the 'cuda' choice on CPU).
DEVICE_KERNELS = ('auto', 'cpu', 'cuda')


def check_device_kernels(choice):
    """``choice`` if it is one of ``DEVICE_KERNELS``, else a ValueError naming the options."""
    if choice not in DEVICE_KERNELS:
        raise ValueError(f'DRSformer: device_kernels={choice!r}; expected one of {DEVICE_KERNELS} '
                         "('auto': the CPU formulations on CPU tensors, the plain ones elsewhere)")
    return choice


def cpu_kernels(choice, x):
    """Whether the CPU-specific formulations apply to ``x``: ``choice`` 'cpu', or 'auto' with ``x``
    on the CPU."""
    return choice == 'cpu' or (choice == 'auto' and x.device.type == 'cpu')


def topk_rank(scores, max_k):
    """Rank (0 = largest) of each of the ``max_k`` largest entries per row; every other entry gets ``max_k``.

    ``scores``: (..., C, C). Keeping the entries whose rank is below k keeps exactly the row's top k,
    for every k <= max_k, from a single sorted top-k.
    """
    index = scores.topk(max_k, dim=-1, largest=True, sorted=True).indices
    rank = torch.full_like(scores, max_k, dtype=torch.long)
    order = torch.arange(max_k, device=scores.device).expand_as(index)
    return rank.scatter_(-1, index, order)


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
        grad = torch.ops.aten.threshold_backward(grad_y, y, 0)  # ReLU's own backward (masked_fill is far slower)
        grads = tuple(_empty_like_layout(y, ctx.term_shape) for _ in range(2))
        for s, length, (ta, pa), (tb, pb) in ctx.plan.pieces:
            grads[ta][:, pa:pa + length].copy_(grad[:, s:s + length])
            grads[tb][:, pb:pb + length].copy_(grad[:, s:s + length])
        for t, i in ctx.plan.unused:
            grads[t][:, i].zero_()
        grad_bias = grad.sum(dim=(0, 2, 3)) if ctx.has_bias else None
        return grads[0], grads[1], grad_bias, None



def _weight_grad(x, grad_out, kernel_size, padding, dilation):
    """Gradient of a stride-1 depth-wise conv's weight: (N, C, H, W) x2 -> (C, 1, k, k).

    ``dW[c, i, j] = sum_n,p grad_out[n, c, p] * x_padded[n, c, p + dilation * (i, j)]``: per sample, a
    depth-wise convolution of the input (same padding) with that sample's grad_out as the kernel, at
    stride ``dilation``; the samples' results are summed.
    """
    n, c, h, w = x.shape
    grad_w = 0
    for i in range(n):
        kernels = grad_out[i].contiguous().unsqueeze(1)  # (C, 1, H, W)
        grad_w = grad_w + F.conv2d(x[i:i + 1], kernels, padding=padding, stride=dilation, groups=c)
    return grad_w.reshape(c, 1, kernel_size, kernel_size)


class _DepthwiseConv2d(torch.autograd.Function):
    """Stride-1 depth-wise conv whose weight gradient is computed by :func:`_weight_grad`.

    oneDNN has a depth-wise kernel for the weight gradient of 3x3 convolutions only; larger kernels
    fall back to a grouped convolution with 16x16 weight blocks that is many times slower than the
    forward (benchmarks/drsformer_speed.py measures the whole model). The input gradient keeps
    PyTorch's kernel.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.dilation, ctx.has_bias = padding, dilation, bias is not None
        return F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=x.shape[1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        p, d, c = ctx.padding, ctx.dilation, x.shape[1]
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [1, 1], [p, p], [d, d], False, [0, 0], c, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(x, grad_out, weight.shape[-1], p, d)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None


def depthwise_conv2d(x, weight, bias=None, padding=0, dilation=1, custom_grad=True):
    """``F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=C)`` for a square kernel.

    x: (N, C, H, W); weight: (C, 1, k, k); stride 1 and ``padding = dilation * (k // 2)`` (size kept).
    Same forward; with ``custom_grad`` (the CPU formulation: callers pass ``cpu_kernels(...)``), when
    the weight needs a gradient and the kernel is larger than 3x3 (or dilated), the backward takes
    :class:`_DepthwiseConv2d`'s faster weight gradient (not under autocast, whose mixed dtypes
    PyTorch's own backward handles).
    """
    k = weight.shape[-1]
    if custom_grad and torch.is_grad_enabled() and weight.requires_grad and (k > 3 or dilation > 1) \
            and padding == dilation * (k // 2) and not torch.is_autocast_enabled('cpu'):
        return _DepthwiseConv2d.apply(x, weight, bias, padding, dilation)
    return F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=x.shape[1])

