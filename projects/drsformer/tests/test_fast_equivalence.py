"""Each module's fast path (``fast=True``) against its plain path (``fast=False``, the release's formulation).

Every rewrite (one sort for the top-k masks, mixing before the product with v and folding the output
projection, MSFN depth-wise convs instead of grouped convs and cats, MEFC experts folded into the fuse
product, layer norm without rearranges, channels-last) is compared on random parameters and inputs,
outputs and gradients (input and every parameter), in float64 (within 1e-8) and float32, for every
variant of the ablations where a fast path applies.
"""
import copy

import pytest
import torch

from projects.drsformer.drsformer import MEFC, MSFN, TKSA, DRSformer, LayerNorm, SparseTransformerBlock
from restorelab.testing import assert_float64_equal, compare, range_psnr_db, twins

LAYOUTS = [torch.contiguous_format, torch.channels_last]
# TKSA's variants: the release's four fractions, one k, a smaller and a larger interval, dense attention.
TOPK_VARIANTS = [((1, 2), (2, 3), (3, 4), (4, 5)), ((1, 2),), ((1, 4), (1, 3), (1, 2)),
                 ((1, 2), (2, 3), (3, 4), (4, 5), (5, 6)), None]


def assert_residual_is_added(module, x):
    """``forward_fast(x, residual)`` (how the fast block calls TKSA and MSFN) is ``forward_fast(x) + residual``."""
    res = torch.randn_like(x)
    with torch.no_grad():
        assert torch.allclose(module.forward_fast(x, residual=res), module.forward_fast(x) + res, rtol=0, atol=1e-12)


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('norm_type', ['WithBias', 'BiasFree'])
def test_layer_norm(layout, norm_type):
    fast, plain = twins(lambda fast: LayerNorm(6, norm_type, fast=fast))
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64).contiguous(memory_format=layout) * 3 + 1
    assert_float64_equal(fast, plain, x)


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('fractions', TOPK_VARIANTS)
@pytest.mark.parametrize('dim,heads,bias', [(12, 1, False), (24, 3, True), (20, 2, False)])
def test_tksa(layout, fractions, dim, heads, bias):
    fast, plain = twins(lambda fast: TKSA(dim, heads, bias, fractions, fast=fast))
    x = torch.randn(2, dim, 6, 5, dtype=torch.float64).contiguous(memory_format=layout)
    assert_float64_equal(fast, plain, x)
    assert_residual_is_added(fast, x)
    _, _, _, db = compare(fast.float(), plain.float(), x.detach().float())
    assert db >= 60, db


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dim,expansion,bias', [(4, 2.66, True), (6, 2.66, False), (5, 2.0, True), (8, 1.5, False)])
def test_msfn(layout, dim, expansion, bias):
    """Odd hidden widths (10, 15, ...) give the group that straddles the 3x3/5x5 halves; even ones do not."""
    fast, plain = twins(lambda fast: MSFN(dim, expansion, bias, fast=fast))
    x = torch.randn(2, dim, 7, 6, dtype=torch.float64).contiguous(memory_format=layout)
    assert_float64_equal(fast, plain, x)
    assert_residual_is_added(fast, x)
    diff32, grad32, grad_max32, _ = compare(fast.float(), plain.float(), x.detach().float())
    assert diff32 < 1e-4 and grad32 < 1e-5 * max(1.0, grad_max32)


@pytest.mark.parametrize('chunk_bytes', [None, 1500, 700])
def test_msfn_chunked_equals_plain(chunk_bytes):
    """Forcing 1, 2-3 or more chunks (small chunk_bytes) keeps the function, outputs and gradients."""
    fast, plain = twins(lambda fast: MSFN(6, 2.66, bias=True, fast=fast))  # hidden 15
    if chunk_bytes is not None:
        fast.chunk_bytes = chunk_bytes
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert len(fast.plans(2 * 5 * 4, 8)) == (1 if chunk_bytes is None else -(-2 * 5 * 4 * 15 * 8 // chunk_bytes))
    assert_float64_equal(fast, plain, x)


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('experts', [8, 4, 1, ['sep1x1', 'dil7x7'], ['avg3x3', 'sep5x5', 'dil3x3']])
def test_mefc(layout, experts):
    fast, plain = twins(lambda fast: MEFC(6, steps=3, experts=experts, fast=fast), scale=0.3)
    x = torch.randn(3, 6, 9, 8, dtype=torch.float64).contiguous(memory_format=layout)
    assert_float64_equal(fast, plain, x)
    diff32, grad32, grad_max32, _ = compare(fast.float(), plain.float(), x.detach().float())
    assert diff32 < 1e-4 and grad32 < 1e-5 * max(1.0, grad_max32)


@pytest.mark.parametrize('ffn_type', ['msfn', 'gdfn', 'dfn', 'fn'])
@pytest.mark.parametrize('fractions', [TOPK_VARIANTS[0], None])
def test_block(ffn_type, fractions):
    fast, plain = twins(lambda fast: SparseTransformerBlock(
        8, 2, topk_fractions=fractions, ffn_type=ffn_type, fast=fast), scale=0.3)
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert_float64_equal(fast, plain, x)


TINY = dict(dim=8, num_blocks=(1, 2, 1, 2), heads=(1, 2, 2, 4))
# The release and every ablation of the paper (Sec. 4.3) at tiny size, plus the release's other options.
MODEL_VARIANTS = [
    dict(), dict(use_mefc=False), dict(bias=True, layer_norm_type='BiasFree'),
    dict(ffn_type='fn'), dict(ffn_type='dfn'), dict(ffn_type='gdfn'),
    dict(mefc_positions=['early']), dict(mefc_positions=['final']), dict(mefc_experts=1), dict(mefc_experts=4),
    dict(topk_fractions=None), dict(topk_fractions=[[1, 2]]), dict(topk_fractions=[[1, 4], [1, 3], [1, 2]]),
    dict(topk_fractions=[[1, 2], [2, 3]]), dict(topk_fractions=[[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]),
]


@pytest.mark.parametrize('kwargs', MODEL_VARIANTS,
                         ids=lambda kw: ','.join(f'{k}={v}' for k, v in kw.items()) or 'release')
def test_whole_model_float64_and_float32(kwargs, device):
    """The model's fast forward against its plain forward: float64 within 1e-8 (outputs and the
    gradients of the input and every parameter), float32 at >= 60 dB PSNR between the outputs. On
    each device: the fast path takes the CPU formulations on CPU and the plain ones on CUDA."""
    fast, plain = twins(lambda fast: DRSformer(**TINY, **kwargs, fast=fast), scale=0.2)
    fast, plain = fast.to(device), plain.to(device)
    x = torch.rand(2, 3, 16, 24, dtype=torch.float64).to(device)
    assert_float64_equal(fast, plain, x)
    fast32, plain32 = copy.deepcopy(fast).float(), copy.deepcopy(plain).float()
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # float32 on CUDA, not TF32
        _, _, _, db = compare(fast32, plain32, x.detach().float())
    assert db >= 60, db


def test_whole_model_with_release_initialisation_float32():
    """The default initialisation (mixing weights 0.2, unit temperatures and norms) in float32."""
    torch.manual_seed(0)
    fast = DRSformer(**TINY)
    plain = DRSformer(**TINY, fast=False)
    plain.load_state_dict(fast.state_dict())
    x = torch.rand(1, 3, 24, 16)
    with torch.no_grad():
        out_fast, out_plain = fast(x), plain(x)
    assert out_fast.shape == out_plain.shape and out_fast.is_contiguous()
    assert range_psnr_db(out_fast, out_plain) >= 60 and (out_fast - out_plain).abs().max() < 1e-4


def test_the_flag_reaches_every_module():
    """``fast`` is passed to every module that has two paths, and changes no parameter name."""
    for fast in (True, False):
        net = DRSformer(**TINY, fast=fast)
        flags = {type(m).__name__: m.fast for m in net.modules() if hasattr(m, 'fast')}
        assert set(flags) == {'DRSformer', 'SparseTransformerBlock', 'LayerNorm', 'TKSA', 'MSFN',
                              'ExpertGate', 'ExpertStep'}
        assert set(flags.values()) == {fast}
    assert list(DRSformer(**TINY).state_dict()) == list(DRSformer(**TINY, fast=False).state_dict())


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
    assert range_psnr_db(outs[1], outs[0]) > 35
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.9


@pytest.mark.parametrize('kwargs', [dict(), dict(use_mefc=False, bias=True)], ids=['release', 'no-mefc,bias'])
def test_the_cuda_choice_equals_the_plain_path_and_the_cpu_choice(kwargs):
    """``device_kernels='cuda'`` (what 'auto' picks on a GPU) forced on CPU tensors: the fast path with the
    plain operations for MSFN and the depth-wise convs equals the release's formulation and the CPU's fast
    path, float64 within 1e-8 (outputs and gradients)."""
    cuda_choice, plain = twins(lambda fast: DRSformer(**TINY, **kwargs, fast=fast, device_kernels='cuda'),
                               scale=0.2)
    cpu_choice = DRSformer(**TINY, **kwargs, device_kernels='cpu').double()
    cpu_choice.load_state_dict(cuda_choice.state_dict())
    x = torch.rand(2, 3, 16, 24, dtype=torch.float64)
    assert_float64_equal(cuda_choice, plain, x)
    assert_float64_equal(cuda_choice, cpu_choice, x)


def test_device_kernels_follow_the_tensor(monkeypatch):
    """'auto' takes the CPU formulations (MSFN's chunked pair sums, the depth-wise weight gradient) for CPU
    tensors; 'cuda' takes neither; the choice reaches every MSFN and MEFC step; bad values are named."""
    from projects.drsformer.drsformer import fast_kernels, msfn

    calls = []
    forward_cpu, apply = msfn.MSFN.forward_cpu, fast_kernels._DepthwiseConv2d.apply

    def counted_forward_cpu(self, x, residual=None):
        calls.append('msfn')
        return forward_cpu(self, x, residual)

    def counted_apply(*args):
        calls.append('dw-grad')
        return apply(*args)

    monkeypatch.setattr(msfn.MSFN, 'forward_cpu', counted_forward_cpu)
    monkeypatch.setattr(fast_kernels._DepthwiseConv2d, 'apply', counted_apply)
    x = torch.rand(1, 3, 16, 16)
    for choice, expected in (('auto', {'msfn', 'dw-grad'}), ('cpu', {'msfn', 'dw-grad'}), ('cuda', set())):
        calls.clear()
        net = DRSformer(**TINY, device_kernels=choice)
        assert {m.device_kernels for m in net.modules() if hasattr(m, 'device_kernels')} == {choice}
        assert {type(m).__name__ for m in net.modules() if hasattr(m, 'device_kernels')} == {'MSFN', 'ExpertStep'}
        net(x).sum().backward()
        assert set(calls) == expected, choice
    with pytest.raises(ValueError, match="device_kernels='gpu'"):
        DRSformer(**TINY, device_kernels='gpu')

