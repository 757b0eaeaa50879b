"""FADformer's parts against their maths written out (float64), shapes at any multiple of 4, the
release's quirks (what gets no gradient) and the full-size parameter counts."""
import math

import pytest
import torch
import torch.nn.functional as F

from projects.fadformer.fadformer import (RELEASE_VARIANTS, FADBlock, FADformer, FourierUnit,
                                          FrequencyDomainFusion, FusedFourierConvMixer,
                                          PriorGatedFeedForward, residue_channel_prior)
from restorelab.models.restorers import ImageRestorer

TINY = dict(dim=8, depths=(1, 1, 2, 1, 1))


def randomize(module, seed=0):
    """Every parameter and batch-norm statistic redrawn, so that no term of the maths hides."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*module.named_parameters(), *module.named_buffers()]:
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            else:
                t.copy_((torch.rand(t.shape, generator=gen) - 0.5) * (2 / math.sqrt(max(1, t[0].numel()))))
    return module.double().eval()


def conv(x, seq_conv, reflect=False):
    """One nn.Conv2d written with F.conv2d (reflection padding done by F.pad)."""
    pad = seq_conv.padding[0]
    if reflect and pad:
        x = F.pad(x, (pad, pad, pad, pad), mode='reflect')
        pad = 0
    return F.conv2d(x, seq_conv.weight, seq_conv.bias, padding=pad, groups=seq_conv.groups)


def batch_norm(x, bn):
    return (x - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps) \
        * bn.weight[:, None, None] + bn.bias[:, None, None]


def dft_matrix(n, m=None, sign=-1):
    """exp(sign 2 pi i k j / n) for k < m (default n), j < n, complex128."""
    k = torch.arange(m or n, dtype=torch.float64)[:, None]
    j = torch.arange(n, dtype=torch.float64)[None, :]
    angle = sign * 2 * math.pi * k * j / n
    return torch.complex(torch.cos(angle), torch.sin(angle))


def rfft2_written_out(x):
    """Orthonormal 2-D DFT of a real (..., H, W) tensor, columns 0..W//2."""
    h, w = x.shape[-2:]
    xc = torch.complex(x, torch.zeros_like(x))
    return dft_matrix(h) @ xc @ dft_matrix(w, w // 2 + 1).T / math.sqrt(h * w)


def irfft2_written_out(spectrum, h, w):
    """Inverse of rfft2_written_out for real (H, W) signals: the half spectrum completed by Hermitian
    symmetry (imaginary parts of the DC and, for even W, Nyquist columns ignored, as c2r transforms do)."""
    y = dft_matrix(h, sign=1) @ spectrum / math.sqrt(h)  # inverse over H: (..., H, W//2+1)
    cols = torch.arange(w // 2 + 1)
    weight = torch.where((cols == 0) | ((w % 2 == 0) & (cols == w // 2)), 1.0, 2.0).double()
    phase = dft_matrix(w, w // 2 + 1, sign=1)  # (W//2+1, W): exp(+2 pi i l v / W)
    return torch.einsum('...hl,lv->...hv', y * weight, phase).real / math.sqrt(w)


@pytest.mark.parametrize('size', [(5, 7), (6, 8), (4, 9)])
def test_fourier_unit_is_a_pointwise_conv_on_the_written_out_spectrum(size):
    unit = randomize(FourierUnit(3, 3))
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    spectrum = rfft2_written_out(x)
    z = torch.stack((spectrum.real, spectrum.imag), dim=2).flatten(1, 2)  # c0 re, c0 im, c1 re, ...
    z = F.relu(batch_norm(F.conv2d(z, unit.conv_layer.weight), unit.bn))
    expected = irfft2_written_out(torch.complex(z[:, 0::2], z[:, 1::2]), *size)
    out = unit(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_frequency_domain_fusion_written_out():
    fusion = randomize(FrequencyDomainFusion(4))
    x = torch.rand(2, 8, 6, 10, dtype=torch.float64)
    x0 = torch.cat([F.gelu(conv(x[:, :4], fusion.conv_init_1[0])), F.gelu(conv(x[:, 4:], fusion.conv_init_2[0]))], 1)
    expected = F.relu(batch_norm(fusion.fourier_unit(x0) + x0, fusion.bn))
    torch.testing.assert_close(fusion(x), expected, rtol=0, atol=1e-12)


def test_ffcm_written_out():
    mixer = randomize(FusedFourierConvMixer(8))
    x = torch.rand(2, 8, 7, 9, dtype=torch.float64)
    y = F.gelu(conv(x, mixer.conv_init[0]))[:, :8]  # the release feeds the first half to both branches
    local = torch.cat([F.gelu(conv(y, mixer.dw_conv_1[0], reflect=True)),
                       F.gelu(conv(y, mixer.dw_conv_2[0], reflect=True))], 1)
    z = mixer.fusion(local)
    z = F.gelu(conv(conv(z, mixer.ca_conv[0]), mixer.ca_conv[1], reflect=True))
    squeeze = z.mean(dim=(2, 3), keepdim=True)
    attention = torch.sigmoid(conv(F.gelu(conv(squeeze, mixer.ca[1])), mixer.ca[3]))
    torch.testing.assert_close(mixer(x), attention * z, rtol=0, atol=1e-12)


@pytest.mark.parametrize('dim', [8, 12])  # dim // 2 = 6 odd: a third group of the prior is ignored
def test_pgfn_written_out(dim):
    ffn = randomize(PriorGatedFeedForward(dim))
    x, prior = torch.rand(2, dim, 7, 9, dtype=torch.float64), torch.rand(2, 1, 7, 9, dtype=torch.float64)
    y = F.gelu(conv(F.gelu(conv(x, ffn.conv_init[0])), ffn.conv_dw[0], reflect=True))
    p = F.gelu(conv(prior, ffn.mask_in[0]))
    c = dim // 4
    assert p.shape[1] == dim // 2
    gate_1 = torch.sigmoid(conv(p[:, :c], ffn.mask_dw_conv_1[0], reflect=True))
    gate_2 = torch.sigmoid(conv(p[:, c:2 * c], ffn.mask_dw_conv_2[0], reflect=True))
    expected_x = F.gelu(conv(torch.cat([gate_1 * y[:, :dim], gate_2 * y[:, dim:]], 1), ffn.conv_fina[0]))
    expected_prior = F.gelu(conv(torch.cat([gate_1, gate_2], 1), ffn.mask_out[0]))
    out_x, out_prior = ffn(x, prior)
    torch.testing.assert_close(out_x, expected_x, rtol=0, atol=1e-12)
    torch.testing.assert_close(out_prior, expected_prior, rtol=0, atol=1e-12)


def test_block_is_two_prenorm_residuals_and_the_prior_is_max_minus_min():
    block = randomize(FADBlock(8))
    x, prior = torch.rand(2, 8, 12, 12, dtype=torch.float64), torch.rand(2, 1, 12, 12, dtype=torch.float64)
    mid = x + block.mixer(batch_norm(x, block.norm1))
    y, expected_prior = block.ffn(batch_norm(mid, block.norm2), prior)
    out, out_prior = block(x, prior)
    torch.testing.assert_close(out, mid + y, rtol=0, atol=1e-12)
    torch.testing.assert_close(out_prior, expected_prior, rtol=0, atol=0)
    image = torch.tensor([[[[0.2]], [[0.9]], [[0.5]]]], dtype=torch.float64)
    assert residue_channel_prior(image).item() == pytest.approx(0.7, abs=1e-15)


def test_network_predicts_a_residual():
    net = randomize(FADformer(**TINY))
    with torch.no_grad():
        net.patch_unembed.proj[1].weight.zero_()
        net.patch_unembed.proj[1].bias.zero_()
    x = torch.rand(1, 3, 16, 20, dtype=torch.float64)
    assert torch.equal(net(x), x)


@pytest.mark.parametrize('size', [(12, 12), (20, 28), (44, 36)])  # 1/4 resolution: 3x3, 5x7, 11x9
def test_any_multiple_of_four_from_twelve(size):
    net = randomize(FADformer(**TINY))
    x = torch.rand(1, 3, *size, dtype=torch.float64)
    with torch.no_grad():
        assert net(x).shape == x.shape
    for bad in ((13, 16), (8, 8), (16, 10)):
        with pytest.raises(ValueError, match=f'input {bad[0]}x{bad[1]}; H and W must be multiples of 4 and at least 12'):
            net(torch.rand(1, 3, *bad, dtype=torch.float64))


def test_restorer_pads_any_size_to_the_multiple():
    net = randomize(FADformer(**TINY)).float()
    model = ImageRestorer(net, None).eval()
    assert model.size_multiple == 4
    x = torch.rand(1, 3, 17, 23)
    out = model.restore(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_what_the_release_leaves_without_gradient():
    """As released: every Frequency-Domain Fusion's conv_mid is never called, the second half of each
    mixer's conv_init output is discarded, and the last block's next prior (mask_out) is not used."""
    net = randomize(FADformer(**TINY)).train()
    x = torch.rand(2, 3, 12, 16, dtype=torch.float64)
    net(x).square().mean().backward()
    no_grad = {n for n, p in net.named_parameters() if p.grad is None or not p.grad.any()}
    conv_mid = {n for n, _ in net.named_parameters() if '.conv_mid.' in n}
    last_prior = {'layer5.blocks.0.ffn.mask_out.0.weight', 'layer5.blocks.0.ffn.mask_out.0.bias'}
    assert no_grad == conv_mid | last_prior
    for name, p in net.named_parameters():
        if name.endswith('mixer.conv_init.0.weight'):
            dim = p.shape[1]
            assert not p.grad[dim:].any() and p.grad[:dim].abs().min() > 0, name


@pytest.mark.parametrize('variant, params, used', [('FADformer', 7_435_737, 6_958_041),
                                                   ('FADformer_mini', 1_816_485, 1_709_733)])
def test_full_size_parameter_counts(variant, params, used):
    """``params``: sum(p.numel() for p in the release's FADformer() / FADformer_mini()) (deng-ai-lab/FADformer
    at 75a8835); ``used``: the same less the never-called conv_mid convs, the count the paper prints
    (6.958 M, thop's count of the modules that run)."""
    with torch.device('meta'):
        net = FADformer(**RELEASE_VARIANTS[variant])
    total = sum(p.numel() for p in net.parameters())
    assert total == params
    assert total - sum(p.numel() for n, p in net.named_parameters() if '.conv_mid.' in n) == used


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match='dim=5; expected an even number >= 4'):
        FADformer(dim=5)
    with pytest.raises(ValueError, match='depths=\\(1, 1\\); expected five block counts'):
        FADformer(depths=(1, 1))
    with pytest.raises(ValueError, match='in_channels=3 and out_channels=1 must be equal'):
        FADformer(out_channels=1)


def test_bf16_autocast_runs_the_spectra_in_float32():
    net = randomize(FADformer(**TINY)).float()
    x = torch.rand(1, 3, 12, 16)
    with torch.no_grad():
        reference = net(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = net(x)
    assert out.shape == x.shape
    assert (out.float() - reference).abs().max() < 0.1
