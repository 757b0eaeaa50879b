"""MSFN, the feed-forward variants of Table 3 and MEFC with the expert subsets of Table 4: shapes, wiring,
parameter counts."""
import pytest
import torch
import torch.nn.functional as F

from projects.drsformer.drsformer import DFN, FN, MEFC, MSFN, build_ffn
from projects.drsformer.drsformer.mefc import EXPERT_NAMES, EXPERT_SUBSETS
from restorelab.models.archs.restormer import GDFN


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_msfn_shapes():
    ffn = MSFN(48)
    assert ffn.hidden_features == 127  # int(48 * 2.66)
    assert ffn.project_in.weight.shape == (254, 48, 1, 1)
    assert ffn.dwconv3x3_1.weight.shape == (127, 2, 3, 3)
    assert ffn.dwconv5x5_1.weight.shape == (127, 2, 5, 5)
    assert ffn.project_out.weight.shape == (48, 254, 1, 1)
    assert ffn(torch.randn(2, 48, 6, 10)).shape == (2, 48, 6, 10)


@pytest.mark.parametrize('fast', [True, False])
def test_msfn_crosses_the_two_scales(fast):
    """First halves of the 3x3 and 5x5 paths feed the grouped 3x3 conv, second halves the grouped 5x5."""
    torch.manual_seed(0)
    ffn = MSFN(4, bias=True, fast=fast).double()
    x = torch.randn(1, 4, 5, 6, dtype=torch.float64)
    hid = ffn.hidden_features
    y = F.conv2d(x, ffn.project_in.weight, ffn.project_in.bias)
    p3 = F.relu(F.conv2d(y, ffn.dwconv3x3.weight, ffn.dwconv3x3.bias, padding=1, groups=2 * hid))
    p5 = F.relu(F.conv2d(y, ffn.dwconv5x5.weight, ffn.dwconv5x5.bias, padding=2, groups=2 * hid))
    first = torch.cat([p3[:, :hid], p5[:, :hid]], 1)
    second = torch.cat([p3[:, hid:], p5[:, hid:]], 1)
    s3 = F.relu(F.conv2d(first, ffn.dwconv3x3_1.weight, ffn.dwconv3x3_1.bias, padding=1, groups=hid))
    s5 = F.relu(F.conv2d(second, ffn.dwconv5x5_1.weight, ffn.dwconv5x5_1.bias, padding=2, groups=hid))
    expected = F.conv2d(torch.cat([s3, s5], 1), ffn.project_out.weight, ffn.project_out.bias)
    with torch.no_grad():
        assert torch.allclose(ffn(x), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize('dim', [48, 96, 192, 384])
def test_feed_forward_parameter_counts(dim):
    """Without biases, h = int(dim * 2.66): MSFN 4*h*dim (1x1 in and out) + 2*h*(9 + 25) (depth-wise) +
    h*2*(9 + 25) (grouped); GDFN 3*h*dim + 2*h*9; DFN 2*h*dim + 9*h; FN 2*h*dim."""
    h = int(dim * 2.66)
    assert count(build_ffn('msfn', dim)) == 4 * h * dim + 2 * h * 34 + 2 * h * 34
    assert count(build_ffn('gdfn', dim)) == 3 * h * dim + 18 * h
    assert count(build_ffn('dfn', dim)) == 2 * h * dim + 9 * h
    assert count(build_ffn('fn', dim)) == 2 * h * dim


def test_feed_forward_variants_compute_their_definitions():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    gdfn = build_ffn('gdfn', 6, bias=True).double()
    assert type(gdfn) is GDFN  # restorelab's Restormer module itself
    dfn, fn = DFN(6, bias=True).double(), FN(6, bias=True).double()
    hidden = int(6 * 2.66)
    with torch.no_grad():
        a, b = gdfn.dwconv(gdfn.project_in(x)).chunk(2, dim=1)
        assert torch.allclose(gdfn(x), gdfn.project_out(F.gelu(a) * b), rtol=0, atol=1e-12)
        assert dfn.dwconv.weight.shape == (hidden, 1, 3, 3)
        expected = F.conv2d(F.gelu(F.conv2d(F.conv2d(x, dfn.project_in.weight, dfn.project_in.bias),
                                            dfn.dwconv.weight, dfn.dwconv.bias, padding=1, groups=hidden)),
                            dfn.project_out.weight, dfn.project_out.bias)
        assert torch.allclose(dfn(x), expected, rtol=0, atol=1e-12)
        pixels = x.permute(0, 2, 3, 1)  # FN: a per-pixel two-layer perceptron
        mlp = F.linear(F.gelu(F.linear(pixels, fn.project_in.weight[:, :, 0, 0], fn.project_in.bias)),
                       fn.project_out.weight[:, :, 0, 0], fn.project_out.bias)
        assert torch.allclose(fn(x), mlp.permute(0, 3, 1, 2), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="ffn_type='mlp'"):
        build_ffn('mlp', 6)


def test_mefc_shapes_and_gate():
    mefc = MEFC(8)
    x = torch.randn(3, 8, 12, 16)
    weights = mefc.gate(x)
    assert weights.shape == (3, 4, 8)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4))
    assert mefc.gate.fc1.weight.shape == (64, 8) and mefc.gate.fc2.weight.shape == (32, 64)
    assert mefc.expert_names == EXPERT_NAMES == ('sep1x1', 'sep3x3', 'sep5x5', 'sep7x7',
                                                 'dil3x3', 'dil5x5', 'dil7x7', 'avg3x3')
    assert mefc.steps[0].fuse.weight.shape == (8, 64, 1, 1)
    out = mefc(x)
    assert out.shape == x.shape
    assert (out >= 0).all()  # ends in a ReLU: no residual from the MEFC input, as released


def test_expert_subsets_are_nested_and_keep_the_release_order():
    assert EXPERT_SUBSETS[1] == ('sep3x3',)
    assert EXPERT_SUBSETS[4] == ('sep3x3', 'sep7x7', 'dil5x5', 'avg3x3')
    assert set(EXPERT_SUBSETS[1]) <= set(EXPERT_SUBSETS[4]) <= set(EXPERT_SUBSETS[8])
    assert MEFC(4, experts=['avg3x3', 'sep1x1']).expert_names == ('sep1x1', 'avg3x3')


@pytest.mark.parametrize('experts,gate_outputs', [(8, 32), (4, 16)])
def test_gate_size_follows_the_experts(experts, gate_outputs):
    """The release's gate has 2 * steps * experts hidden units and steps * experts outputs."""
    c = 48
    mefc = MEFC(c, experts=experts)
    assert mefc.gate.fc2.out_features == gate_outputs and mefc.gate.fc1.out_features == 2 * gate_outputs
    assert mefc.steps[0].fuse.in_channels == experts * c
    gate = c * 2 * gate_outputs + 2 * gate_outputs + 2 * gate_outputs * gate_outputs + gate_outputs
    assert count(mefc.gate) == gate


def test_one_expert_has_no_gate_and_weight_one():
    torch.manual_seed(0)
    mefc = MEFC(4, steps=2, experts=1).double()
    assert mefc.gate is None and mefc.expert_names == ('sep3x3',)
    x = torch.rand(2, 4, 6, 6, dtype=torch.float64)
    out = F.relu(mefc.preprocess(x))
    for step in mefc.steps:
        out = F.relu(F.relu(step.fuse(step.experts['sep3x3'](out))) + out)
    with torch.no_grad():
        assert torch.allclose(mefc(x), out, rtol=0, atol=1e-12)


def test_bad_expert_choices_are_named():
    for bad in (2, 0, True, [], ['sep3x3', 'sep3x3'], ['conv3x3']):
        with pytest.raises(ValueError, match='experts='):
            MEFC(4, experts=bad)


def test_mefc_gates_each_sample_on_its_own():
    torch.manual_seed(0)
    mefc = MEFC(4).double()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        together = mefc(x)
        alone = torch.cat([mefc(x[:1]), mefc(x[1:])])
    assert torch.allclose(together, alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize('fast', [True, False])
def test_mefc_step_uses_its_weights_in_expert_order(fast):
    """A one-hot gate on the average-pool expert gives ReLU(ReLU(fuse(avgpool(x) in slot 8)) + x)."""
    torch.manual_seed(0)
    mefc = MEFC(4, steps=1, fast=fast).double()
    step = mefc.steps[0]
    x = torch.rand(1, 4, 6, 6, dtype=torch.float64)
    onehot = torch.zeros(1, 8, dtype=torch.float64)
    onehot[0, 7] = 1
    pooled = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    stacked = torch.cat([torch.zeros_like(x)] * 7 + [pooled], 1)
    expected = F.relu(F.relu(F.conv2d(stacked, step.fuse.weight)) + x)
    with torch.no_grad():
        assert torch.allclose(step(x, onehot), expected, rtol=0, atol=1e-12)
