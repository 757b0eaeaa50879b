"""The optimised plugin against the release's straightforward formulation (tests/reference.py).

Every rewrite (one sort for the four masks, mixing before the product with v and folding the output
projection, fused MSFN depth-wise convs instead of grouped convs and cats, MEFC experts folded into the
fuse product, layer norm without rearranges, channels-last) is compared on random parameters and inputs,
outputs and gradients, in float64 (tight) and float32.
"""
import copy

import pytest
import torch

from projects.drsformer.drsformer import MEFC, MSFN, TKSA, DRSformer, SparseTransformerBlock
from projects.drsformer.drsformer.drsformer import ChannelLayerNorm
from projects.drsformer.drsformer.depthwise import depthwise_conv2d
from projects.drsformer.drsformer.msfn import PairSumReLU, chunk_plans

from . import reference


def randomise(module, scale=0.5, seed=0):
    """Redraw every parameter (mixing weights, temperatures, norms included) so no rewrite hides behind
    an initial value such as 0.2 or 1."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return module


def psnr(a, b):
    """PSNR in dB between two outputs, peak taken as the reference's range."""
    peak = (b.max() - b.min()).item()
    mse = (a - b).double().pow(2).mean().item()
    return float('inf') if mse == 0 else 10 * torch.log10(torch.tensor(peak ** 2 / mse)).item()


def compare(fast, slow, x, dtype, args=()):
    """Outputs and gradients (input and every parameter) of ``fast(x)`` and ``slow(x)``.

    Returns (max abs output diff, max gradient diff relative to the gradient's size, output PSNR).
    """
    x = x.to(dtype).requires_grad_(True)
    out_fast, out_slow = fast(x, *args), slow(x, *args)
    weight = torch.randn(out_slow.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    params = [p for p in fast.parameters()] if isinstance(fast, torch.nn.Module) else []
    grads_fast = torch.autograd.grad((out_fast * weight).sum(), [x] + params)
    grads_slow = torch.autograd.grad((out_slow * weight).sum(), [x] + params)
    grad_err = max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
                   for a, b in zip(grads_fast, grads_slow))
    return (out_fast - out_slow).abs().max().item(), grad_err, psnr(out_fast.detach(), out_slow.detach())


LAYOUTS = [torch.contiguous_format, torch.channels_last]


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('with_bias', [True, False])
def test_layer_norm(layout, with_bias):
    norm = randomise(ChannelLayerNorm(6, with_bias)).double()
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64).contiguous(memory_format=layout) * 3 + 1
    diff, grad_err, _ = compare(norm, lambda t: reference.layer_norm(norm, t), x, torch.float64)
    assert diff < 1e-13 and grad_err < 1e-12


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dim,heads,bias', [(8, 1, False), (12, 3, True), (10, 2, False)])
def test_tksa(layout, dim, heads, bias):
    attn = randomise(TKSA(dim, heads, bias)).double()
    x = torch.randn(2, dim, 6, 5, dtype=torch.float64).contiguous(memory_format=layout)
    diff, grad_err, _ = compare(attn, lambda t: reference.tksa(attn, t), x, torch.float64)
    assert diff < 1e-12 and grad_err < 1e-10
    diff32, _, db = compare(attn.float(), lambda t: reference.tksa(attn, t), x, torch.float32)
    assert db >= 60, (diff32, db)


def test_tksa_residual_is_added():
    attn = randomise(TKSA(8, 2)).double()
    x, res = torch.randn(2, 2, 8, 4, 6, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(attn(x, residual=res), attn(x) + res, rtol=0, atol=1e-12)


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dim,expansion,bias', [(4, 2.66, True), (6, 2.66, False), (5, 2.0, True), (8, 1.5, False)])
def test_msfn(layout, dim, expansion, bias):
    """Odd hidden widths (10, 15, ...) give the group that straddles the 3x3/5x5 halves; even ones do not."""
    ffn = randomise(MSFN(dim, expansion, bias)).double()
    x = torch.randn(2, dim, 7, 6, dtype=torch.float64).contiguous(memory_format=layout)
    diff, grad_err, _ = compare(ffn, lambda t: reference.msfn(ffn, t), x, torch.float64)
    assert diff < 1e-12 and grad_err < 1e-12
    diff32, grad32, _ = compare(ffn.float(), lambda t: reference.msfn(ffn, t), x, torch.float32)
    assert diff32 < 1e-4 and grad32 < 1e-5
    res = torch.randn(2, dim, 7, 6, dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(ffn(x.float(), residual=res), ffn(x.float()) + res, atol=1e-5)


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


@pytest.mark.parametrize('chunk_bytes', [None, 1500, 700])
def test_msfn_chunked_equals_reference(chunk_bytes):
    """Forcing 1, 2-3 or more chunks (small chunk_bytes) keeps the function, outputs and gradients."""
    ffn = randomise(MSFN(6, 2.66, bias=True)).double()  # hidden 15
    if chunk_bytes is not None:
        ffn.chunk_bytes = chunk_bytes
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert len(ffn.plans(2 * 5 * 4, 8)) == (1 if chunk_bytes is None else -(-2 * 5 * 4 * 15 * 8 // chunk_bytes))
    diff, grad_err, _ = compare(ffn, lambda t: reference.msfn(ffn, t), x, torch.float64)
    assert diff < 1e-12 and grad_err < 1e-12


@pytest.mark.parametrize('layout', LAYOUTS)
def test_mefc(layout):
    mefc = randomise(MEFC(6, steps=3), scale=0.3).double()
    x = torch.randn(3, 6, 9, 8, dtype=torch.float64).contiguous(memory_format=layout)
    diff, grad_err, _ = compare(mefc, lambda t: reference.mefc(mefc, t), x, torch.float64)
    assert diff < 1e-12 and grad_err < 1e-12
    diff32, grad32, _ = compare(mefc.float(), lambda t: reference.mefc(mefc, t), x, torch.float32)
    assert diff32 < 1e-4 and grad32 < 1e-5


def test_block():
    blk = randomise(SparseTransformerBlock(8, 2, 2.66, False, True), scale=0.3).double()
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    diff, grad_err, _ = compare(blk, lambda t: reference.block(blk, t), x, torch.float64)
    assert diff < 1e-12 and grad_err < 1e-10


TINY = dict(dim=8, num_blocks=(1, 2, 1, 2), heads=(1, 2, 2, 4))


@pytest.mark.parametrize('kwargs', [dict(), dict(use_mefc=False), dict(bias=True, layer_norm_type='BiasFree')])
def test_whole_model_float64_and_float32(kwargs):
    """The model's forward against reference_forward: float64 within 1e-8 (max abs), gradients of every
    parameter, float32 at >= 60 dB PSNR between the outputs."""
    net = randomise(DRSformer(**TINY, **kwargs), scale=0.2).double()
    x = torch.rand(2, 3, 16, 24, dtype=torch.float64)
    diff, grad_err, _ = compare(net, lambda t: reference.reference_forward(net, t), x, torch.float64)
    assert diff < 1e-8 and grad_err < 1e-8, (diff, grad_err)
    net32 = copy.deepcopy(net).float()
    _, _, db = compare(net32, lambda t: reference.reference_forward(net32, t), x, torch.float32)
    assert db >= 60, db


def test_whole_model_with_release_initialisation_float32():
    """The default initialisation (mixing weights 0.2, unit temperatures and norms) in float32."""
    torch.manual_seed(0)
    net = DRSformer(**TINY)
    x = torch.rand(1, 3, 24, 16)
    with torch.no_grad():
        fast, slow = net(x), reference.reference_forward(net, x)
    assert fast.shape == slow.shape and fast.is_contiguous()
    assert psnr(fast, slow) >= 60 and (fast - slow).abs().max() < 1e-4


def test_buffers_do_not_enter_the_state_dict():
    """The MSFN index plans are derived, not weights: the release's keys stay the only ones."""
    net = DRSformer(**TINY)
    assert not any('_source' in k or '_stage' in k for k in net.state_dict())


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


def test_training_step_under_cpu_bfloat16_autocast():
    """``--amp`` on CPU runs the forward under bfloat16 autocast: in-place products get matching dtypes,
    every parameter gets a finite gradient, and output and gradients follow the float32 ones (bfloat16
    keeps 8 bits of mantissa: measured 0.95 gradient cosine and 53 dB output PSNR on this model)."""
    torch.manual_seed(0)
    net = DRSformer(**TINY)
    x, gt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    outs, grads = [], []
    for autocast in (False, True):
        net.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            out = net(x)
        (out.float() - gt).abs().mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        outs.append(out.detach().float())
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    assert psnr(outs[1], outs[0]) > 35
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.9
