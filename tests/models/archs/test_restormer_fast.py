"""Restormer's fast path (``fast=True``) against its plain path (``fast=False``, the release's formulation).

Every rewrite (layer norm over the channels-last view, q/k/v as separate projections, the norms of
q and k applied to the product, the output projection folded into the attention and the residual
added in that product, GDFN in channel chunks with the output projection accumulated onto the
residual, oneDNN 1x1 convs) is compared on random parameters and inputs: outputs and gradients
(input and every parameter), float64 within 1e-8, float32 at >= 60 dB PSNR; train and eval mode.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import ChannelLayerNorm
from restorelab.models.archs.common import pointwise_conv2d as pointwise_conv
from restorelab.models.archs.restormer import GDFN, MDTA, Restormer, RestormerBlock
from restorelab.models.converters.restormer import convert_restormer
from restorelab.testing import assert_float64_equal, compare, range_psnr_db, twins

LAYOUTS = [torch.contiguous_format, torch.channels_last]
TINY = dict(dim=8, num_blocks=[1, 2, 1, 2], num_refinement_blocks=1, heads=[1, 2, 2, 4])
# The release's widths, heads, expansion and norms with one block per stage (a real configuration
# at a size a test can run in float64).
REAL = dict(num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)


@pytest.fixture(autouse=True)
def single_thread():
    """The tensors here are small: one thread avoids thread start-up and contention costs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def assert_no_grad_equal(fast, plain, x):
    """The inference path (no autograd: in-place GELU gating) gives the same outputs."""
    with torch.no_grad():
        diff = (fast(x) - plain(x)).abs().max().item()
    assert diff <= 1e-8, diff


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('norm_type', ['WithBias', 'BiasFree'])
def test_layer_norm(layout, norm_type):
    fast, plain = twins(lambda fast: ChannelLayerNorm(6, norm_type, fast=fast))
    x = (torch.randn(2, 6, 5, 7, dtype=torch.float64) * 3 + 1).contiguous(memory_format=layout)
    assert_float64_equal(fast, plain, x)


MODULES = {
    'mdta-1-head': lambda fast: MDTA(6, 1, False, fast=fast),
    'mdta-3-heads-bias': lambda fast: MDTA(12, 3, True, fast=fast),
    'mdta-4-heads': lambda fast: MDTA(16, 4, False, fast=fast),
    'gdfn-bias': lambda fast: GDFN(4, 2.66, True, fast=fast),
    'gdfn': lambda fast: GDFN(6, 2.66, False, fast=fast),
    'gdfn-expansion-2': lambda fast: GDFN(5, 2.0, True, fast=fast),
}


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('name', MODULES)
def test_mdta_and_gdfn(layout, name):
    """Outputs and gradients; the inference path; the residual added inside the last product."""
    fast, plain = twins(MODULES[name])
    dim = plain.project_out.weight.shape[0]
    x = torch.randn(2, dim, 6, 5, dtype=torch.float64).contiguous(memory_format=layout)
    assert_float64_equal(fast, plain, x)
    assert_no_grad_equal(fast, plain, x)
    res = torch.randn_like(x)
    with torch.no_grad():
        torch.testing.assert_close(fast.forward_fast(x, residual=res), plain(x) + res, rtol=0, atol=1e-12)
    _, _, _, db = compare(fast.float(), plain.float(), x.float())
    assert db >= 60, db


@pytest.mark.parametrize('chunk_bytes,chunks', [(None, 1), (2000, 3), (700, 7), (1, 15)])
def test_gdfn_in_chunks_equals_plain(chunk_bytes, chunks):
    """Forcing several chunks (2*5*4 pixels * 15 channels * 8 bytes = 4800 bytes over chunk_bytes, at
    most one chunk per hidden channel) keeps the function,
    outputs and gradients, with and without autograd."""
    fast, plain = twins(lambda fast: GDFN(6, 2.66, bias=True, fast=fast))  # hidden 15
    if chunk_bytes is not None:
        fast.chunk_bytes = chunk_bytes
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    ranges = fast.chunks(x)
    assert len(ranges) == chunks and ranges[0][0] == 0 and ranges[-1][1] == 15
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert_float64_equal(fast, plain, x)
    assert_no_grad_equal(fast, plain, x)


def test_gdfn_chunks_keep_full_size_intermediates_below_the_mmap_threshold():
    """At the release's widest level (96 channels, hidden 255) and 256x256, each chunk's tensors stay
    within chunk_bytes (24 MB), under glibc's largest mmap threshold (32 MB)."""
    ffn = GDFN(96, 2.66, bias=False)
    x = torch.empty(1, 96, 256, 256)
    ranges = ffn.chunks(x)
    assert len(ranges) == 3
    assert max(b - a for a, b in ranges) * 256 * 256 * 4 <= GDFN.chunk_bytes < 32 * 2 ** 20


@pytest.mark.parametrize('norm_type,bias', [('WithBias', False), ('BiasFree', True)])
def test_block(norm_type, bias):
    fast, plain = twins(lambda fast: RestormerBlock(8, 2, 2.66, bias, norm_type, fast=fast), scale=0.3)
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert_float64_equal(fast, plain, x)
    assert_no_grad_equal(fast, plain, x)


MODEL_VARIANTS = [dict(), dict(bias=True, LayerNorm_type='BiasFree'),
                  dict(inp_channels=6, dual_pixel_task=True)]


@pytest.mark.parametrize('mode', ['train', 'eval'])
@pytest.mark.parametrize('kwargs', MODEL_VARIANTS,
                         ids=lambda kw: ','.join(f'{k}={v}' for k, v in kw.items()) or 'release')
def test_whole_tiny_model_float64_and_float32(kwargs, mode):
    fast, plain = twins(lambda fast: Restormer(**TINY, **kwargs, fast=fast), scale=0.2)
    fast.train(mode == 'train')
    plain.train(mode == 'train')
    x = torch.rand(2, kwargs.get('inp_channels', 3), 16, 24, dtype=torch.float64)
    assert_float64_equal(fast, plain, x)
    assert_no_grad_equal(fast, plain, x)
    _, _, _, db = compare(copy.deepcopy(fast).float(), copy.deepcopy(plain).float(), x.float())
    assert db >= 60, db


def test_release_widths_float64_with_chunks_and_float32():
    """The release's widths, heads, expansion and WithBias norms (one block per stage), with the GDFN
    chunk size lowered so that every level runs several chunks: float64 outputs and gradients within
    1e-8, and in float32 (oneDNN 1x1 convs) >= 60 dB between outputs, release initialisation."""
    fast, plain = twins(lambda fast: Restormer(**REAL, fast=fast), scale=0.05)
    for m in fast.modules():
        if isinstance(m, GDFN):
            m.chunk_bytes = 4096
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    assert_float64_equal(fast, plain, x)
    torch.manual_seed(0)
    fast32 = Restormer(**REAL).eval()
    plain32 = Restormer(**REAL, fast=False).eval()
    plain32.load_state_dict(fast32.state_dict())
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        out_fast, out_plain = fast32(x), plain32(x)
    assert out_fast.is_contiguous() and range_psnr_db(out_fast, out_plain) >= 60


def test_state_dicts_identical_and_official_keys_load_into_both():
    """The flag changes no parameter name, shape or order; an official-layout state_dict (through the
    converter) loads strictly into both paths, which then compute the same function."""
    fast, plain = Restormer(**TINY), Restormer(**TINY, fast=False)
    sd_fast, sd_plain = fast.state_dict(), plain.state_dict()
    assert [(k, v.shape) for k, v in sd_fast.items()] == [(k, v.shape) for k, v in sd_plain.items()]
    official = {k: torch.randn(v.shape) * 0.1 for k, v in sd_plain.items()}
    for model in (fast, plain):
        model.load_state_dict(convert_restormer(official), strict=True)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert range_psnr_db(fast(x), plain(x)) >= 60


def test_default_is_fast_and_the_flag_reaches_every_module():
    assert Restormer(**TINY).fast is True
    for fast in (True, False):
        net = Restormer(**TINY, fast=fast)
        flags = {type(m).__name__: m.fast for m in net.modules() if hasattr(m, 'fast')}
        assert set(flags) == {'Restormer', 'RestormerBlock', 'ChannelLayerNorm', 'MDTA', 'GDFN'}
        assert set(flags.values()) == {fast}


def test_pointwise_conv_equals_conv2d():
    """oneDNN's 1x1 conv (float32, CPU) against F.conv2d: outputs and gradients; float64 takes F.conv2d."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 5, 6, generator=gen).contiguous(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(9, 7, 1, 1, generator=gen, requires_grad=True)
    b = torch.randn(9, generator=gen, requires_grad=True)
    out, ref = pointwise_conv(x, w, b), F.conv2d(x, w, b)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, r in zip(torch.autograd.grad(out.square().sum(), [x, w, b]),
                    torch.autograd.grad(ref.square().sum(), [x, w, b])):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4)
    x64, w64 = x.detach().double(), w.detach().double()
    assert torch.equal(pointwise_conv(x64, w64), F.conv2d(x64, w64))


def test_training_step_under_cpu_bfloat16_autocast():
    """``--amp`` on CPU: the fast path's in-place products get matching dtypes and every parameter a
    finite gradient; the output follows the float32 one."""
    torch.manual_seed(0)
    net = Restormer(**TINY)
    x, gt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    outs = []
    for autocast in (False, True):
        net.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            out = net(x)
        (out.float() - gt).abs().mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        outs.append(out.detach().float())
    assert range_psnr_db(outs[1], outs[0]) > 30
