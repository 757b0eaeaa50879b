"""MSFN and MEFC: shapes and the release's wiring."""
import torch
import torch.nn.functional as F

from projects.drsformer.drsformer.mefc import MEFC, NUM_EXPERTS
from projects.drsformer.drsformer.msfn import MSFN


def test_msfn_shapes():
    ffn = MSFN(48)
    assert ffn.hidden_features == 127  # int(48 * 2.66)
    assert ffn.project_in.weight.shape == (254, 48, 1, 1)
    assert ffn.dwconv3x3_1.weight.shape == (127, 2, 3, 3)
    assert ffn.dwconv5x5_1.weight.shape == (127, 2, 5, 5)
    assert ffn.project_out.weight.shape == (48, 254, 1, 1)
    assert ffn(torch.randn(2, 48, 6, 10)).shape == (2, 48, 6, 10)


def test_msfn_crosses_the_two_scales():
    """First halves of the 3x3 and 5x5 paths feed the grouped 3x3 conv, second halves the grouped 5x5."""
    torch.manual_seed(0)
    ffn = MSFN(4, bias=True).double()
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


def test_mefc_shapes_and_gate():
    mefc = MEFC(8)
    x = torch.randn(3, 8, 12, 16)
    weights = mefc.gate(x)
    assert weights.shape == (3, 4, NUM_EXPERTS)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4))
    assert mefc.gate.fc1.weight.shape == (64, 8) and mefc.gate.fc2.weight.shape == (32, 64)
    assert list(mefc.steps[0].experts) == ['sep1x1', 'sep3x3', 'sep5x5', 'sep7x7',
                                           'dil3x3', 'dil5x5', 'dil7x7', 'avg3x3']
    assert mefc.steps[0].fuse.weight.shape == (8, 64, 1, 1)
    out = mefc(x)
    assert out.shape == x.shape
    assert (out >= 0).all()  # ends in a ReLU: no residual from the MEFC input, as released


def test_mefc_gates_each_sample_on_its_own():
    torch.manual_seed(0)
    mefc = MEFC(4).double()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        together = mefc(x)
        alone = torch.cat([mefc(x[:1]), mefc(x[1:])])
    assert torch.allclose(together, alone, rtol=0, atol=1e-12)


def test_mefc_step_uses_its_weights_in_expert_order():
    """A one-hot gate on the average-pool expert gives ReLU(ReLU(fuse(avgpool(x) in slot 8)) + x)."""
    torch.manual_seed(0)
    mefc = MEFC(4, steps=1).double()
    step = mefc.steps[0]
    x = torch.rand(1, 4, 6, 6, dtype=torch.float64)
    onehot = torch.zeros(1, NUM_EXPERTS, dtype=torch.float64)
    onehot[0, 7] = 1
    pooled = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    stacked = torch.cat([torch.zeros_like(x)] * 7 + [pooled], 1)
    expected = F.relu(F.relu(F.conv2d(stacked, step.fuse.weight)) + x)
    with torch.no_grad():
        assert torch.allclose(step(x, onehot), expected, rtol=0, atol=1e-12)
