"""PReNet family: official key layouts, exact parameter counts, the recurrence."""
import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS



def res_keys(name):
    return [(f'{name}.0.weight', (32, 32, 3, 3)), (f'{name}.0.bias', (32,)),
            (f'{name}.2.weight', (32, 32, 3, 3)), (f'{name}.2.bias', (32,))]


def gate_keys(name):
    return [(f'{name}.0.weight', (32, 64, 3, 3)), (f'{name}.0.bias', (32,))]


STEM = [('conv0.0.weight', (32, 6, 3, 3)), ('conv0.0.bias', (32,))]
HEAD = [('conv.0.weight', (3, 32, 3, 3)), ('conv.0.bias', (3,))]
LSTM = [*gate_keys('conv_i'), *gate_keys('conv_f'), *gate_keys('conv_g'), *gate_keys('conv_o')]
FIVE = [k for i in range(1, 6) for k in res_keys(f'res_conv{i}')]

# csdwren/PReNet networks.py layouts, as in logs/<set>/<model>/net_latest.pth.
OFFICIAL = {
    'PReNet': (STEM + FIVE + LSTM + HEAD, 168_963),
    'PReNet_r': (STEM + res_keys('res_conv1') + LSTM + HEAD, 94_979),
    'PRN': (STEM + FIVE + HEAD, 95_107),
    'PRN_r': (STEM + res_keys('res_conv1') + HEAD, 21_123),
}


@pytest.mark.parametrize('arch', sorted(OFFICIAL))
def test_layout_and_parameter_count_match_the_release(arch):
    model = MODELS.build(dict(type=arch))
    keys, count = OFFICIAL[arch]
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == keys
    assert count_parameters(model) == count
    assert model.size_multiple == 1


@pytest.mark.parametrize('arch', sorted(OFFICIAL))
def test_any_size_keeps_shape(arch):
    model = MODELS.build(dict(type=arch, recurrent_iter=2))
    with torch.no_grad():
        out = model(torch.rand(2, 3, 7, 11))
    assert out.shape == (2, 3, 7, 11)


def test_prn_single_stage_is_conv_of_residual_chain_plus_input():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='PRN', recurrent_iter=1)).double()
    x = torch.rand(1, 3, 6, 5, dtype=torch.float64)
    feat = model.conv0(torch.cat((x, x), 1))
    for i in range(1, 6):
        feat = F.relu(getattr(model, f'res_conv{i}')(feat) + feat)
    torch.testing.assert_close(model(x), model.conv(feat) + x, rtol=0, atol=1e-12)


def test_prenet_two_stages_carry_lstm_state_and_previous_estimate():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='PReNet_r', recurrent_iter=2)).double()
    x = torch.rand(1, 3, 5, 4, dtype=torch.float64)
    h = torch.zeros(1, 32, 5, 4, dtype=torch.float64)
    c = torch.zeros_like(h)
    est = x
    for _ in range(2):
        feat = torch.cat((model.conv0(torch.cat((x, est), 1)), h), 1)
        c = model.conv_f(feat) * c + model.conv_i(feat) * model.conv_g(feat)
        h = model.conv_o(feat) * torch.tanh(c)
        feat = h
        for _ in range(5):  # the one shared residual block, five times
            feat = F.relu(model.res_conv1(feat) + feat)
        est = model.conv(feat) + x
    torch.testing.assert_close(model(x), est, rtol=0, atol=1e-12)


def test_recurrent_iter_must_be_positive():
    with pytest.raises(ValueError, match='recurrent_iter must be >= 1, got 0'):
        MODELS.build(dict(type='PReNet', recurrent_iter=0))
