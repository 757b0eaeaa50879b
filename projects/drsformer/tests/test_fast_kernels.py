"""The fast path's kernels (fast_kernels.py) against PyTorch's own operations and the release's grouping."""
import pytest
import torch

from restorelab.models.archs import common
from projects.drsformer.drsformer.fast_kernels import (PairSumReLU, chunk_plans, depthwise_conv2d,
                                                      pointwise_conv2d, topk_rank)

LAYOUTS = [torch.contiguous_format, torch.channels_last]


def test_topk_rank_keeps_exactly_each_rows_k_largest_entries():
    scores = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    rank = topk_rank(scores, 8)
    order = scores.argsort(dim=-1, descending=True)
    for k in (1, 5, 6, 8):
        kept = rank < k
        assert (kept.sum(-1) == k).all()
        direct = torch.zeros_like(kept).scatter_(-1, order[..., :k], True)
        assert torch.equal(kept, direct)


@pytest.mark.parametrize('hidden', [1, 2, 5, 10, 127, 255])
@pytest.mark.parametrize('chunks', [1, 2, 3, 4])
def test_msfn_chunk_plans_sum_exactly_the_grouped_conv_pairs(hidden, chunks):
    """Output j of the release's grouped conv sums inputs 2j and 2j+1 of [p3 half, p5 half]; across the
    chunks every output is produced exactly once from exactly those two inputs (odd hidden: one output
    straddles p3 and p5), and only the entries no output reads are marked unused."""
    found = {}
    for plan in chunk_plans(hidden, chunks):
        order, outputs = plan.order.tolist(), plan.outputs.tolist()
        assert sorted(order) == sorted(set(order)) and len(outputs) == sum(p[1] for p in plan.pieces)
        read = set()
        for start, length, (ta, pa), (tb, pb) in plan.pieces:
            for i in range(length):
                j = outputs[start + i]
                assert j not in found
                found[j] = sorted([(ta, order[pa + i]), (tb, order[pb + i])])
                read |= {(ta, pa + i), (tb, pb + i)}
        assert len(read) == 2 * len(outputs)  # each input feeds one output
        assert set(plan.unused) == {(t, i) for t in (0, 1) for i in range(len(order))} - read

    def source(e):  # (0 = p3 / 1 = p5, channel within the half)
        return (0, e) if e < hidden else (1, e - hidden)
    assert found == {j: sorted([source(2 * j), source(2 * j + 1)]) for j in range(hidden)}


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('kernel,dilation,batch,with_bias', [
    (5, 1, 1, False), (7, 1, 2, True), (3, 2, 2, False), (5, 2, 3, True), (3, 1, 2, True)])
def test_depthwise_conv2d_gradients(layout, kernel, dilation, batch, with_bias):
    """The depth-wise conv with its own weight gradient against PyTorch's grouped conv, float64."""
    gen = torch.Generator().manual_seed(kernel * 10 + dilation)
    c, pad = 5, dilation * (kernel // 2)
    x = torch.randn(batch, c, 9, 7, generator=gen, dtype=torch.float64).contiguous(memory_format=layout)
    weight = torch.randn(c, 1, kernel, kernel, generator=gen, dtype=torch.float64)
    bias = torch.randn(c, generator=gen, dtype=torch.float64) if with_bias else None
    grad_out = torch.randn(batch, c, 9, 7, generator=gen, dtype=torch.float64)
    results = []
    for fn in (lambda *a: depthwise_conv2d(*a, padding=pad, dilation=dilation),
               lambda t, w, b: torch.nn.functional.conv2d(t, w, b, padding=pad, dilation=dilation, groups=c)):
        inputs = [t.clone().requires_grad_(True) for t in (x, weight, bias) if t is not None]
        out = fn(inputs[0], inputs[1], inputs[2] if with_bias else None)
        results.append([out] + list(torch.autograd.grad((out * grad_out).sum(), inputs)))
    for ours, torchs in zip(*results):
        assert ours.shape == torchs.shape
        assert (ours - torchs).abs().max() < 1e-12


def test_pair_sum_relu_backward_scatters_the_masked_gradient():
    """Every read channel of the two terms receives the gradient of the one output it feeds (odd width:
    the straddling pair included), masked where the ReLU clipped, and unread channels get zero; checked
    against autograd of slices, for a chunk with unread entries."""
    plan = chunk_plans(7, 2)[0]  # outputs 0, 1, 4, 5 and the straddling 3
    assert plan.unused
    channels = len(plan.order)
    gen = torch.Generator().manual_seed(3)
    t0, t1 = (torch.randn(2, channels, 4, 5, generator=gen, dtype=torch.float64) for _ in range(2))
    bias = torch.randn(len(plan.outputs), generator=gen, dtype=torch.float64)
    grad_y = torch.randn(2, len(plan.outputs), 4, 5, generator=gen, dtype=torch.float64)
    a = [t.clone().requires_grad_(True) for t in (t0, t1, bias)]
    y = PairSumReLU.apply(*a, plan)
    b = [t.clone().requires_grad_(True) for t in (t0, t1, bias)]
    terms = b[:2]
    parts = [terms[ta][:, sa:sa + n] + terms[tb][:, sb:sb + n] for _, n, (ta, sa), (tb, sb) in plan.pieces]
    y_ref = torch.relu(torch.cat(parts, dim=1) + b[2].view(1, -1, 1, 1))
    assert torch.equal(y, y_ref)
    for g, g_ref in zip(torch.autograd.grad((y * grad_y).sum(), a), torch.autograd.grad((y_ref * grad_y).sum(), b)):
        assert (g - g_ref).abs().max() < 1e-12


@pytest.mark.parametrize('layout', ['channels_last', 'nchw'])
@pytest.mark.parametrize('with_bias', [True, False])
@pytest.mark.parametrize('batch', [1, 3])
def test_pointwise_conv2d_equals_conv2d_with_gradients(layout, with_bias, batch):
    gen = torch.Generator().manual_seed(4)
    fmt = torch.channels_last if layout == 'channels_last' else torch.contiguous_format
    x = torch.randn(batch, 24, 13, 17, generator=gen).contiguous(memory_format=fmt)
    weight = torch.randn(40, 24, 1, 1, generator=gen)
    bias = torch.randn(40, generator=gen) if with_bias else None
    grad_out = torch.randn(batch, 40, 13, 17, generator=gen)
    results = []
    for conv in (pointwise_conv2d, torch.nn.functional.conv2d):
        leaves = [t.clone().requires_grad_() for t in (x, weight) + ((bias,) if with_bias else ())]
        out = conv(*leaves)
        out.backward(grad_out)
        results.append((out.detach(), *(t.grad for t in leaves)))
    assert results[0][0].is_contiguous(memory_format=fmt)
    # The weight gradient sums batch x 221 products in another order (one matrix product of the
    # pixel rows): float32 rounding relative to the gradient's scale.
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=2e-6 * ref.abs().max().item())


def test_pointwise_conv2d_takes_oneDNN_only_for_float32_outside_autocast(monkeypatch):
    calls = []
    real = torch.ops.aten.mkldnn_convolution
    monkeypatch.setattr(torch.ops.aten, 'mkldnn_convolution', lambda *a: calls.append(a[0].dtype) or real(*a))
    x, w = torch.randn(1, 4, 5, 5), torch.randn(6, 4, 1, 1)
    pointwise_conv2d(x, w)
    assert calls == ([torch.float32] if torch.backends.mkldnn.is_available() else [])
    # float64 (which oneDNN lacks) and autocast take F.conv2d: the same numbers and dtypes as it.
    assert torch.equal(pointwise_conv2d(x.double(), w.double()), torch.nn.functional.conv2d(x.double(), w.double()))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert pointwise_conv2d(x, w).dtype == torch.nn.functional.conv2d(x, w).dtype == torch.bfloat16
    with common.onednn_pointwise(False):
        assert not common.use_onednn_pointwise()
        pointwise_conv2d(x, w)
    assert common.use_onednn_pointwise()  # restored after the block
    assert len(calls) == (1 if torch.backends.mkldnn.is_available() else 0)
    with pytest.raises(RuntimeError), common.onednn_pointwise(False):
        raise RuntimeError('the block fails')
    assert common.use_onednn_pointwise()  # restored when the block raises too


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason='oneDNN is not built into this torch')
def test_pointwise_conv2d_backward_computes_the_input_gradient_by_oneDNN(monkeypatch):
    """With gradients, the input gradient is a oneDNN 1x1 conv of grad_out with the transposed
    weight (not PyTorch's one-thread convolution_backward); only the gradients asked for are formed."""
    calls = []
    real = torch.ops.aten.mkldnn_convolution
    monkeypatch.setattr(torch.ops.aten, 'mkldnn_convolution',
                        lambda *a: calls.append(tuple(a[1].shape)) or real(*a))
    x = torch.randn(2, 4, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(6, 4, 1, 1, requires_grad=True)
    pointwise_conv2d(x, w).sum().backward()
    assert calls == [(6, 4, 1, 1), (4, 6, 1, 1)]
    assert x.grad is not None and w.grad is not None
    calls.clear()
    frozen = torch.randn(6, 4, 1, 1)
    pointwise_conv2d(x, frozen).sum().backward()  # weight without gradient: still the input's
    assert calls == [(6, 4, 1, 1), (4, 6, 1, 1)]
    calls.clear()
    pointwise_conv2d(x.detach(), w).sum().backward()  # input without gradient: no input-gradient conv
    assert calls == [(6, 4, 1, 1)]
