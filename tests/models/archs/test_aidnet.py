"""AIDNet: the two released layouts, exact counts, CBAM / SE maths, attention placement."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.aidnet import CBAM, SEBlock
from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.models.converters import check_state_dict_fits, get_converter, unwrap_state_dict
from test_brn import (RELEASE_BRN, RESTORELAB_BRN, numel, reference_brn, release_file,
                      residual)

# cuiyixin555/AIDNet logs/<set>/AID_location135/net_latest.pth: BRN's 64 tensors (the same
# names as RecDerain's BRN, in the same order, 'module.' prefixed) followed by the attention.
CBAM_R16 = [  # logs/Rain100H/AID_location135: 74 tensors, 412,783 values
    ('cbam_module.ChannelGate.mlp.1.weight', (2, 32)), ('cbam_module.ChannelGate.mlp.1.bias', (2,)),
    ('cbam_module.ChannelGate.mlp.3.weight', (32, 2)), ('cbam_module.ChannelGate.mlp.3.bias', (32,)),
    ('cbam_module.SpatialGate.spatial.conv.weight', (1, 2, 7, 7)),
    ('cbam_module.SpatialGate.spatial.bn.weight', (1,)),
    ('cbam_module.SpatialGate.spatial.bn.bias', (1,)),
    ('cbam_module.SpatialGate.spatial.bn.running_mean', (1,)),
    ('cbam_module.SpatialGate.spatial.bn.running_var', (1,)),
    ('cbam_module.SpatialGate.spatial.bn.num_batches_tracked', ()),
]
SE_R2 = [  # logs/Rain100L/AID_location135: 68 tensors, 413,590 values
    ('seblock.fc.0.weight', (16, 32)), ('seblock.fc.0.bias', (16,)),
    ('seblock.fc.2.weight', (32, 16)), ('seblock.fc.2.bias', (32,)),
]
RELEASED = {
    'rain100h': (dict(type='AIDNet'), CBAM_R16, 74, 412_783, 375_788),
    'rain100l': (dict(type='AIDNet', attention='se', reduction=2), SE_R2, 68, 413_590, 376_598),
}


def test_release_layout_counts():
    for arch, attention, tensors, values, _ in RELEASED.values():
        assert len(RELEASE_BRN + attention) == tensors
        assert numel(RELEASE_BRN + attention) == values


@pytest.mark.parametrize('dataset', sorted(RELEASED))
def test_layout_parameter_count_and_converter(dataset):
    arch, attention, _, _, params = RELEASED[dataset]
    model = MODELS.build(arch)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == RESTORELAB_BRN + attention
    assert count_parameters(model) == params
    assert model.recurrent_iter == 8 and model.size_multiple == 1
    state, _ = unwrap_state_dict(release_file(RELEASE_BRN + attention))
    converted = get_converter('aidnet')(state)
    assert list(converted) == [k for k, _ in RESTORELAB_BRN + attention]
    check_state_dict_fits(converted, model)


def test_default_is_the_rain100h_model_and_the_rain100l_file_needs_its_variant():
    state, _ = unwrap_state_dict(release_file(RELEASE_BRN + SE_R2))
    converted = get_converter('aidnet')(state)
    with pytest.raises(ValueError, match=r'does not fit AIDNet: 10 missing keys \(first: '
                                         r'cbam_module.*4 unexpected keys \(first: seblock'):
        check_state_dict_fits(converted, MODELS.build(dict(type='AIDNet')))


def test_any_size_keeps_shape():
    for attention, reduction in (('cbam', 16), ('se', 2)):
        model = MODELS.build(dict(type='AIDNet', recurrent_iter=2, attention=attention,
                                  reduction=reduction)).eval()
        with torch.no_grad():
            assert model(torch.rand(2, 3, 7, 11)).shape == (2, 3, 7, 11)


def randomise(module, seed):
    """Random weights and batch-norm statistics (the defaults 0 / 1 would hide them)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            noise = torch.rand(value.shape, generator=gen, dtype=value.dtype)
            value.copy_(noise + 0.5 if name.endswith('running_var') else 2 * noise - 1)
    return module


def test_cbam_is_channel_then_spatial_gate():
    cbam = randomise(CBAM(8, 4).double().eval(), 0)
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64)
    fc1, fc2 = cbam.ChannelGate.mlp[1], cbam.ChannelGate.mlp[3]

    def mlp(v):  # (N, C)
        return F.relu(v @ fc1.weight.T + fc1.bias) @ fc2.weight.T + fc2.bias

    channel = x * torch.sigmoid(mlp(x.mean((2, 3))) + mlp(x.amax((2, 3))))[:, :, None, None]
    pooled = torch.stack((channel.amax(1), channel.mean(1)), 1)
    bn = cbam.SpatialGate.spatial.bn
    z = F.conv2d(pooled, cbam.SpatialGate.spatial.conv.weight, padding=3)
    z = (z - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5) * bn.weight + bn.bias
    with torch.no_grad():
        torch.testing.assert_close(cbam(x), channel * torch.sigmoid(z), rtol=0, atol=1e-12)


def test_se_block():
    se = randomise(SEBlock(8, 2).double(), 1)
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64)
    fc1, fc2 = se.fc[0], se.fc[2]
    weights = torch.sigmoid(F.relu(x.mean((2, 3)) @ fc1.weight.T + fc1.bias) @ fc2.weight.T + fc2.bias)
    with torch.no_grad():
        torch.testing.assert_close(se(x), x * weights[:, :, None, None], rtol=0, atol=1e-12)


@pytest.mark.parametrize('attention, reduction', [('cbam', 16), ('se', 2)])
def test_image_branch_is_modulated_after_blocks_1_3_5(attention, reduction):
    torch.manual_seed(0)
    model = randomise(MODELS.build(dict(type='AIDNet', recurrent_iter=1, attention=attention,
                                        reduction=reduction)).double().eval(), 2)
    with torch.no_grad():  # weights small enough for a well-conditioned check
        for p in model.parameters():
            p.mul_(0.2)
    y = torch.rand(1, 3, 6, 5, dtype=torch.float64)
    att = model.cbam_module if attention == 'cbam' else model.seblock
    # One stage of the equations in the aidnet module docstring.
    zeros = torch.zeros(1, 32, 6, 5, dtype=torch.float64)

    def conv(seq, x):
        return F.conv2d(x, seq[0].weight, seq[0].bias, padding=1)

    def lstm(suffix, inputs):
        gate = {g: conv(getattr(model, f'conv_{g}{suffix}'), inputs) for g in 'ifgo'}
        c = torch.sigmoid(gate['i']) * torch.tanh(gate['g'])  # the cell starts at zero
        return torch.sigmoid(gate['o']) * torch.tanh(c)

    h_r = lstm('_r', torch.cat((F.relu(conv(model.conv0_r, torch.cat((y, y), 1))), zeros, zeros), 1))
    r1 = residual(model.res_conv1_r, h_r)
    r2 = residual(model.res_conv2_r, r1)
    r3 = residual(model.res_conv3_r, r2)
    r = conv(model.conv_r, r3)
    x = lstm('', torch.cat((F.relu(conv(model.conv0, torch.cat((y, y, r), 1))), zeros, h_r), 1))
    x = residual(model.res_conv1, x)
    x = att(r1) * x + x
    x = residual(model.res_conv3, residual(model.res_conv2, x))
    x = att(r2) * x + x
    x = residual(model.res_conv5, residual(model.res_conv4, x))
    x = att(r3) * x + x
    with torch.no_grad():
        torch.testing.assert_close(model(y), conv(model.conv, x), rtol=0, atol=1e-12)


def test_with_the_attention_switched_off_aidnet_is_brn():
    """A spatial gate of sigmoid(-inf) = 0 makes every A(r_k) zero: BRN's output."""
    torch.manual_seed(0)
    aidnet = MODELS.build(dict(type='AIDNet', recurrent_iter=2)).double().eval()
    with torch.no_grad():
        aidnet.cbam_module.SpatialGate.spatial.bn.weight.zero_()
        aidnet.cbam_module.SpatialGate.spatial.bn.bias.fill_(-float('inf'))
    brn = MODELS.build(dict(type='BRN', recurrent_iter=2)).double()
    brn.load_state_dict(OrderedDict((k, v) for k, v in aidnet.state_dict().items()
                                    if not k.startswith('cbam_module.')))
    y = torch.rand(1, 3, 6, 5, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(aidnet(y), brn(y), rtol=0, atol=0)
        torch.testing.assert_close(aidnet(y), reference_brn(brn, y, 2), rtol=0, atol=1e-12)


def test_bad_options():
    with pytest.raises(ValueError, match=r"attention must be one of \('cbam', 'se'\), got 'eca'"):
        MODELS.build(dict(type='AIDNet', attention='eca'))
    with pytest.raises(ValueError, match='reduction must be an int >= 1 dividing 32, got 3'):
        MODELS.build(dict(type='AIDNet', reduction=3))
    with pytest.raises(ValueError, match='recurrent_iter must be >= 1, got 0'):
        MODELS.build(dict(type='AIDNet', recurrent_iter=0))
