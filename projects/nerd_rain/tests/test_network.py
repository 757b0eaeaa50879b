"""NeRD-Rain's blocks written out with F.* ops in float64, the network's shapes at any size, and the
full-size parameter counts of the two released variants."""
import math

import pytest
import torch
import torch.nn.functional as F

from projects.nerd_rain.nerd_rain import BFPU, IntraScaleINR, NeRDRain, pixel_coordinates, positional_encoding
from restorelab.models.archs.common import count_parameters
from restorelab.models.restorers import ImageRestorer
from restorelab.testing import randomise

TINY = dict(dim=8, num_blocks=(1, 1, 1), heads=(1, 1, 2), inr_hidden=(16, 16))


def test_full_size_parameter_counts_equal_the_releases():
    # cschenxiang/NeRD-Rain MultiscaleNet() of model.py and model_S.py, counted with the release's own
    # get_parameter_number (also recorded by benchmarks/equivalence/nerd_rain.py as official_params).
    with torch.device('meta'):
        assert count_parameters(NeRDRain()) == 22_893_146
        assert count_parameters(NeRDRain(dim=32)) == 10_530_314


def test_pixel_coordinates_and_positional_encoding_closed_forms():
    coord = pixel_coordinates(4, 2)
    assert coord.dtype == torch.float32 and coord.shape == (4, 2, 2)
    torch.testing.assert_close(coord[:, 0, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    torch.testing.assert_close(coord[0, :, 1], torch.tensor([-0.5, 0.5]))
    enc = positional_encoding(torch.tensor([[0.25, -0.5]]), 2)
    x, y = 0.25, -0.5
    expected = [math.sin(math.pi * x), math.sin(2 * math.pi * x), math.cos(math.pi * x), math.cos(2 * math.pi * x),
                math.sin(math.pi * y), math.sin(2 * math.pi * y), math.cos(math.pi * y), math.cos(2 * math.pi * y)]
    torch.testing.assert_close(enc, torch.tensor([expected]), rtol=0, atol=1e-6)


def test_bfpu_written_out():
    bfpu = randomise(BFPU(4), 0.3).double()
    x, y = torch.rand(2, 4, 6, 5, dtype=torch.float64), torch.rand(2, 4, 6, 5, dtype=torch.float64)

    def conv(m, t):
        return F.conv2d(t, m.weight, m.bias, padding=1)

    a = torch.sigmoid(conv(bfpu.query_conv, x) * conv(bfpu.key_conv, y))
    gx = conv(bfpu.gamma1, torch.cat([x, x * a], 1))
    gy = conv(bfpu.gamma2, torch.cat([y, y * a], 1))
    expected = x * gx[:, :1] + x * a * gx[:, 1:] + y * gy[:, :1] + y * a * gy[:, 1:]
    torch.testing.assert_close(bfpu(x, y), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize('size', [(4, 4), (3, 5)])
def test_intra_scale_inr_written_out(size):
    """The release's INR reduces to the MLP of [3x3 neighbourhood, 18 zeros, relative cell], the
    cell being float32 (2/h) * h and (2/w) * w, weighted by four float32 quarters of 1."""
    h, w = size
    inr = randomise(IntraScaleINR(3, hidden=(7,), frequencies=4), 0.3).double()
    feat = torch.rand(2, 3, h, w, dtype=torch.float64)
    padded = F.pad(feat, (1, 1, 1, 1))
    rows = []
    for i in range(h):
        for j in range(w):
            patch = padded[:, :, i:i + 3, j:j + 3].reshape(2, -1)  # channel-major 3x3 neighbourhood
            cell = torch.tensor([(torch.tensor(2 / h, dtype=torch.float32) * h).item(),
                                 (torch.tensor(2 / w, dtype=torch.float32) * w).item()], dtype=torch.float64)
            rows.append(torch.cat([patch, torch.zeros(2, 18, dtype=torch.float64), cell.expand(2, 2)], 1))
    inp = torch.stack(rows, 1)  # (2, h*w, 27 + 20)
    lin1, lin2 = inr.imnet.layers[0], inr.imnet.layers[2]
    mlp = F.linear(F.relu(F.linear(inp, lin1.weight, lin1.bias)), lin2.weight, lin2.bias)
    quarter = (torch.tensor(1e-9, dtype=torch.float32) / (torch.tensor(1e-9, dtype=torch.float32) * 4)).double()
    expected = (4 * quarter * mlp).reshape(2, h, w, 3).permute(0, 3, 1, 2)
    torch.testing.assert_close(inr(feat), expected, rtol=0, atol=1e-12)


def test_fast_path_is_the_release_formulation_bit_for_bit():
    """fast=True (one MLP evaluation for the INR's four identical terms) against fast=False (four,
    as released), float64, outputs and gradients of the input and of every parameter, on a
    rectangle."""
    plain = randomise(NeRDRain(**TINY, fast=False), 0.3, seed=1).double()
    fast = NeRDRain(**TINY).double()
    fast.load_state_dict(plain.state_dict())
    assert [m.fast for m in (fast.scale1.inr, fast.scale2.inr, plain.scale1.inr)] == [True, True, False]
    x = torch.rand(1, 3, 16, 32, dtype=torch.float64)
    grads = []
    for net in (plain, fast):
        inp = x.clone().requires_grad_(True)
        outs = net.forward_stages(inp)
        sum((o * torch.linspace(0, 1, o.numel(), dtype=o.dtype).reshape(o.shape)).sum() for o in outs).backward()
        grads.append((outs, inp.grad, {k: p.grad for k, p in net.named_parameters()}))
    (outs_p, gx_p, gp_p), (outs_f, gx_f, gp_f) = grads
    for a, b in zip(outs_p, outs_f):
        assert (a - b).abs().max().item() <= 1e-8
    assert (gx_p - gx_f).abs().max().item() <= 1e-8
    for k, g in gp_p.items():
        if g is None:
            assert gp_f[k] is None and k == 'scale3.unets.2.reduce_chan_level1.weight'
        else:
            assert (g - gp_f[k]).abs().max().item() <= 1e-8, k


def test_inr_decodes_the_upsampled_bottleneck():
    net = NeRDRain(**TINY)
    latent = torch.rand(1, 32, 2, 3)
    inr = net.scale1.inr
    torch.testing.assert_close(inr(latent), inr.query_rgb(inr.feature_upsample(latent)))
    assert inr.feature_upsample(latent).shape == (1, 8, 8, 12)


@pytest.mark.parametrize('size', [(16, 16), (32, 80), (48, 16)])
def test_stage_outputs_and_any_multiple_of_16(size):
    h, w = size
    net = NeRDRain(**TINY).eval()
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        stages = net.forward_stages(x)
        out = net(x)
    assert [tuple(s.shape[-2:]) for s in stages] == [(h // 4, w // 4), (h // 2, w // 2), (h // 4, w // 4),
                                                      (h // 2, w // 2), (h, w)]
    assert torch.equal(out, stages[-1])


def test_other_sizes_are_refused_by_the_arch_and_padded_by_the_restorer():
    net = NeRDRain(**TINY).eval()
    assert net.size_multiple == 16
    with pytest.raises(ValueError, match='multiples of 16'):
        net(torch.rand(1, 3, 24, 32))
    restorer = ImageRestorer(arch=net, pixel_loss=None).eval()
    x = torch.rand(1, 3, 37, 50)
    out = restorer.restore(x)
    assert out.shape == x.shape and bool(((out >= 0) & (out <= 1)).all())


def test_the_unused_release_conv_gets_no_gradient_and_the_rest_do():
    net = NeRDRain(**TINY)
    sum(s.sum() for s in net.forward_stages(torch.rand(1, 3, 16, 16))).backward()
    without = sorted(n for n, p in net.named_parameters() if p.grad is None)
    assert without == ['scale3.unets.2.reduce_chan_level1.weight']


def test_argument_errors():
    with pytest.raises(ValueError, match='3 entries'):
        NeRDRain(num_blocks=(2, 3, 3, 4))
    with pytest.raises(ValueError, match='inp_channels must equal out_channels'):
        NeRDRain(inp_channels=6)
