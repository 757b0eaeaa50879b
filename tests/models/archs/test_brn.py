"""BRN: official key layout, exact parameter counts, the bilateral recurrence."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.models.converters import check_state_dict_fits, get_converter


def res_keys(name):
    return [(f'{name}.0.weight', (32, 32, 3, 3)), (f'{name}.0.bias', (32,)),
            (f'{name}.2.weight', (32, 32, 3, 3)), (f'{name}.2.bias', (32,))]


def conv_keys(name, c_in, c_out=32):
    return [(f'{name}.0.weight', (c_out, c_in, 3, 3)), (f'{name}.0.bias', (c_out,))]


def lstm_keys(suffix=''):
    return [k for g in 'ifgo' for k in conv_keys(f'conv_{g}{suffix}', 96)]


# csdwren/RecDerain generator.py class BRN, in the order of logs/Rain100{H,L}/BRN/net_latest.pth
# (every key there starts with 'module.'): 64 tensors, 412,518 values.
IMAGE_BRANCH = (conv_keys('conv0', 9) + [k for i in range(1, 6) for k in res_keys(f'res_conv{i}')]
                + lstm_keys() + conv_keys('conv', 32, 3))
RAIN_BLOCKS = [k for i in range(1, 4) for k in res_keys(f'res_conv{i}_r')]
UNUSED_RAIN_BLOCKS = res_keys('res_conv4_r') + res_keys('res_conv5_r')  # never called by forward
RAIN_BRANCH_TAIL = lstm_keys('_r') + conv_keys('conv_r', 32, 3)
RELEASE_BRN = (IMAGE_BRANCH + conv_keys('conv0_r', 6) + RAIN_BLOCKS + UNUSED_RAIN_BLOCKS
               + RAIN_BRANCH_TAIL)
RESTORELAB_BRN = IMAGE_BRANCH + conv_keys('conv0_r', 6) + RAIN_BLOCKS + RAIN_BRANCH_TAIL


def numel(layout):
    return sum(torch.Size(shape).numel() for _, shape in layout)


def release_file(layout, seed=0):
    """A state dict shaped like a released file: DataParallel prefixes, random values."""
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((f'module.{k}', torch.randn(shape, generator=gen)) for k, shape in layout)


def test_release_layout_counts():
    assert len(RELEASE_BRN) == 64 and numel(RELEASE_BRN) == 412_518
    assert len(RESTORELAB_BRN) == 56 and numel(RESTORELAB_BRN) == 375_526


def test_layout_and_parameter_count():
    model = MODELS.build(dict(type='BRN'))
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == RESTORELAB_BRN
    assert count_parameters(model) == 375_526
    assert model.recurrent_iter == 8 and model.size_multiple == 1


def test_converter_drops_only_the_unused_rain_blocks():
    from restorelab.models.converters import unwrap_state_dict
    state, _ = unwrap_state_dict(release_file(RELEASE_BRN))
    converted = get_converter('brn')(state)
    assert [(k, tuple(v.shape)) for k, v in converted.items()] == RESTORELAB_BRN
    assert all(converted[k] is state[k] for k in converted)
    model = MODELS.build(dict(type='BRN'))
    check_state_dict_fits(converted, model)
    model.load_state_dict(converted, strict=True)


def test_any_size_keeps_shape():
    model = MODELS.build(dict(type='BRN', recurrent_iter=2))
    with torch.no_grad():
        out = model(torch.rand(2, 3, 7, 11))
    assert out.shape == (2, 3, 7, 11)


def conv(seq, x):
    return F.conv2d(x, seq[0].weight, seq[0].bias, padding=1)


def lstm(model, suffix, inputs, c):
    """The conv-LSTM written out: i, f, o sigmoid gates, g tanh candidate."""
    gate = {g: conv(getattr(model, f'conv_{g}{suffix}'), inputs) for g in 'ifgo'}
    c = torch.sigmoid(gate['f']) * c + torch.sigmoid(gate['i']) * torch.tanh(gate['g'])
    return torch.sigmoid(gate['o']) * torch.tanh(c), c


def residual(block, x):
    inner = F.relu(F.conv2d(x, block[0].weight, block[0].bias, padding=1))
    return F.relu(F.relu(F.conv2d(inner, block[2].weight, block[2].bias, padding=1)) + x)


def reference_brn(model, y, stages):
    """BRN's equations (module docstring) with F.conv2d on the model's weights."""
    zeros = torch.zeros(y.shape[0], 32, *y.shape[2:], dtype=y.dtype)
    x, r, h_x, c_x, h_r, c_r = y, y, zeros, zeros, zeros, zeros
    for _ in range(stages):
        f_r = F.relu(conv(model.conv0_r, torch.cat((y, r), 1)))
        h_r, c_r = lstm(model, '_r', torch.cat((f_r, h_r, h_x), 1), c_r)
        feat = h_r
        for i in (1, 2, 3):
            feat = residual(getattr(model, f'res_conv{i}_r'), feat)
        r = conv(model.conv_r, feat)
        f_x = F.relu(conv(model.conv0, torch.cat((y, x, r), 1)))
        h_x, c_x = lstm(model, '', torch.cat((f_x, h_x, h_r), 1), c_x)
        feat = h_x
        for i in range(1, 6):
            feat = residual(getattr(model, f'res_conv{i}'), feat)
        x = conv(model.conv, feat)
    return x


@pytest.mark.parametrize('stages', [1, 3])
def test_forward_is_the_bilateral_recurrence(stages):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='BRN', recurrent_iter=stages)).double().eval()
    y = torch.rand(2, 3, 6, 5, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(y), reference_brn(model, y, stages), rtol=0, atol=1e-12)


def test_branches_are_coupled_both_ways():
    """From stage 2 on, the rain LSTM reads the image branch's hidden state: changing the
    image LSTM's weights changes the rain estimate and so the output beyond stage 1's."""
    torch.manual_seed(0)
    model = MODELS.build(dict(type='BRN', recurrent_iter=2)).double()
    y = torch.rand(1, 3, 6, 5, dtype=torch.float64)
    rain_estimates = []
    model.conv_r.register_forward_hook(lambda m, i, o: rain_estimates.append(o.clone()))
    with torch.no_grad():
        model(y)
        model.conv_o[0].weight.add_(0.1)  # the image LSTM's output gate only
        model(y)
    first, second = rain_estimates[:2], rain_estimates[2:]
    torch.testing.assert_close(first[0], second[0], rtol=0, atol=0)  # stage 1: h_x was zero
    assert (first[1] - second[1]).abs().max() > 1e-6  # stage 2: the rain branch saw h_x


def test_recurrent_iter_must_be_positive():
    with pytest.raises(ValueError, match='recurrent_iter must be >= 1, got 0'):
        MODELS.build(dict(type='BRN', recurrent_iter=0))
