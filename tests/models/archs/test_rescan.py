"""RESCAN: the release's key layout, exact parameter counts, the units and both prediction
frameworks written out with F.* ops, the converter's colour reversal and its refusals."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.converters import (CheckpointConversionError, get_converter,
                                         load_official_checkpoint, unwrap_state_dict)
from restorelab.registry import MODELS
from restorelab.testing import randomise

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors; a shared CPU

def conv(name, c_in, c_out, k=3):
    return [(f'{name}.weight', (c_out, c_in, k, k)), (f'{name}.bias', (c_out,))]


def se(name, c):
    return [(f'{name}.fc.0.weight', (6, c)), (f'{name}.fc.0.bias', (6,)),
            (f'{name}.fc.2.weight', (c, 6)), (f'{name}.fc.2.bias', (c,))]


# XiaLiPKU/RESCAN config/model.py with settings uint='GRU', depth=4, channel=8, use_se=True:
# rnns = [ConvGRU(3, 8, 3, 1), ConvGRU(8, 8, 3, 2 ** 0)], dec = [Conv2d 3x3, SEBlock,
# LeakyReLU, Conv2d 1x1]; every unit's x-convs, then its h-convs, then its SE.
RELEASE_GRU_D4_C8 = (
    conv('rnns.0.conv_xz', 3, 8) + conv('rnns.0.conv_xr', 3, 8) + conv('rnns.0.conv_xn', 3, 8)
    + conv('rnns.0.conv_hz', 8, 8) + conv('rnns.0.conv_hr', 8, 8) + conv('rnns.0.conv_hn', 8, 8)
    + se('rnns.0.se', 8)
    + conv('rnns.1.conv_xz', 8, 8) + conv('rnns.1.conv_xr', 8, 8) + conv('rnns.1.conv_xn', 8, 8)
    + conv('rnns.1.conv_hz', 8, 8) + conv('rnns.1.conv_hr', 8, 8) + conv('rnns.1.conv_hn', 8, 8)
    + se('rnns.1.se', 8)
    + conv('dec.0', 8, 8) + se('dec.1', 8) + conv('dec.3', 8, 3, k=1))
# Layer 0 of the other units (ConvDirec, ConvRNN, ConvLSTM) at channel=8 without SE.
RELEASE_LAYER0_NO_SE = {
    'Conv': conv('rnns.0.conv', 3, 8),
    'ConvRNN': conv('rnns.0.conv_x', 3, 8) + conv('rnns.0.conv_h', 8, 8),
    'ConvLSTM': [k for g in 'fioj' for k in conv(f'rnns.0.conv_x{g}', 3, 8)]
                + [k for g in 'fioj' for k in conv(f'rnns.0.conv_h{g}', 8, 8)],
}
# The release's module with config/settings.py's depth 7 and channel 24, SE on, each unit
# (sum(p.numel() for p in RESCAN().parameters()) of the release; ConvGRU is the default and
# the layout of RecDerain's logs/Rain{Heavy,Light}/RESCAN/latest: 88 tensors).
RELEASE_PARAMS = {'ConvGRU': 149_823, 'ConvLSTM': 197_367, 'ConvRNN': 54_735, 'Conv': 28_695}


def layout(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_release_key_layout():
    model = MODELS.build(dict(type='RESCAN', depth=4, channels=8))
    assert layout(model) == RELEASE_GRU_D4_C8
    for unit, keys in RELEASE_LAYER0_NO_SE.items():
        model = MODELS.build(dict(type='RESCAN', unit=unit, depth=4, channels=8, use_se=False))
        assert [k for k in layout(model) if k[0].startswith('rnns.0.')] == keys
        assert [k for k, _ in layout(model) if k.startswith('dec.')] == [
            'dec.0.weight', 'dec.0.bias', 'dec.3.weight', 'dec.3.bias']


@pytest.mark.parametrize('unit', sorted(RELEASE_PARAMS))
def test_parameter_counts_of_the_release_size(unit):
    model = MODELS.build(dict(type='RESCAN', unit=unit))
    assert count_parameters(model) == RELEASE_PARAMS[unit]
    x_conv = {'Conv': 'conv', 'ConvRNN': 'conv_x', 'ConvGRU': 'conv_xz', 'ConvLSTM': 'conv_xf'}[unit]
    assert [getattr(u, x_conv).dilation[0] for u in model.rnns] == [1, 1, 2, 4, 8]
    assert model.size_multiple == 1 and model.num_stages == 4 and model.prediction == 'full'
    if unit == 'ConvGRU':
        assert len(model.state_dict()) == 88


def test_bad_arguments_are_named():
    for kwargs, words in ((dict(unit='GRU'), "unit must be one of"),
                          (dict(prediction='Full'), 'prediction must be one of'),
                          (dict(depth=2), 'depth must be >= 3'),
                          (dict(num_stages=0), 'num_stages must be >= 1')):
        with pytest.raises(ValueError, match=words):
            MODELS.build(dict(type='RESCAN', **kwargs))


def test_any_size_keeps_shape_and_stages_end_in_forward():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='RESCAN', depth=5, channels=8, num_stages=3)).eval()
    x = torch.rand(2, 3, 7, 11)
    with torch.no_grad():
        stages = model.forward_stages(x)
        out = model(x)
    assert len(stages) == 3 and all(s.shape == x.shape for s in stages)
    torch.testing.assert_close(out, stages[-1], rtol=0, atol=0)


# ------------------------------------------------------------------------------------------
# The maths, written out with F.* ops on the model's weights (float64).

def c2d(module, x):
    return F.conv2d(x, module.weight, module.bias, padding=module.padding,
                    dilation=module.dilation)


def squeeze_excite(block, h):
    if isinstance(block, torch.nn.Identity):
        return h
    fc1, fc2 = block.fc[0], block.fc[2]
    s = torch.sigmoid(F.linear(F.relu(F.linear(h.mean((2, 3)), fc1.weight, fc1.bias)),
                               fc2.weight, fc2.bias))
    return h * s[:, :, None, None]


def unit_step(unit_name, u, x, state):
    """One recurrent unit (module docstring's equations), returning (output, state)."""
    sig, tanh = torch.sigmoid, torch.tanh
    if unit_name == 'Conv':
        h = c2d(u.conv, x)
    elif unit_name == 'ConvRNN':
        h = tanh(c2d(u.conv_x, x) + (0 if state is None else c2d(u.conv_h, state)))
    elif unit_name == 'ConvGRU':
        if state is None:
            h = sig(c2d(u.conv_xz, x)) * tanh(c2d(u.conv_xn, x))
        else:
            z = sig(c2d(u.conv_xz, x) + c2d(u.conv_hz, state))
            r = sig(c2d(u.conv_xr, x) + c2d(u.conv_hr, state))
            n = tanh(c2d(u.conv_xn, x) + c2d(u.conv_hn, r * state))
            h = (1 - z) * state + z * n
    else:
        if state is None:
            c = sig(c2d(u.conv_xi, x)) * tanh(c2d(u.conv_xj, x))
            h = sig(c2d(u.conv_xo, x)) * c
        else:
            h_prev, c_prev = state
            gate = {g: c2d(getattr(u, f'conv_x{g}'), x) + c2d(getattr(u, f'conv_h{g}'), h_prev)
                    for g in 'fioj'}
            c = sig(gate['f']) * c_prev + sig(gate['i']) * tanh(gate['j'])
            h = sig(gate['o']) * tanh(c)
    out = F.leaky_relu(squeeze_excite(u.se, h), 0.2)
    if unit_name == 'Conv':
        return out, None
    return out, ((out, c) if unit_name == 'ConvLSTM' else out)


def reference_rescan(model, rainy, detach_previous=True):
    """B_s = O - R_s with R_s = SCAN_s(O - R_{s-1}) (+ R_{s-1} when additive)."""
    states = [None] * len(model.rnns)
    x, rain, outputs = rainy, None, []
    for _ in range(model.num_stages):
        for i, u in enumerate(model.rnns):
            x, states[i] = unit_step(model.unit, u, x, states[i])
        y = F.leaky_relu(squeeze_excite(model.dec[1], c2d(model.dec[0], x)), 0.2)
        stage_rain = c2d(model.dec[3], y)
        if model.prediction == 'additive' and rain is not None:
            stage_rain = stage_rain + (rain.detach() if detach_previous else rain)
        rain = stage_rain
        x = rainy - rain
        outputs.append(x)
    return outputs


@pytest.mark.parametrize('unit', ['Conv', 'ConvRNN', 'ConvGRU', 'ConvLSTM'])
@pytest.mark.parametrize('prediction', ['full', 'additive'])
def test_forward_is_the_paper_recurrence(unit, prediction):
    model = randomise(MODELS.build(dict(type='RESCAN', unit=unit, prediction=prediction,
                                        depth=5, channels=6, num_stages=3)).double(), 0.3)
    x = torch.rand(2, 3, 9, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        got, want = model.forward_stages(x), reference_rescan(model, x)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-12)


def test_without_se_the_layers_have_none():
    model = randomise(MODELS.build(dict(type='RESCAN', depth=4, channels=6, num_stages=2,
                                        use_se=False)).double(), 0.3)
    assert not [k for k in model.state_dict() if '.se.' in k or k.startswith('dec.1')]
    x = torch.rand(1, 3, 6, 7, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_rescan(model, x)[-1], rtol=0, atol=1e-12)


def test_additive_prediction_detaches_the_previous_estimate():
    """The gradient of the last stage's output reaches stage 1 only through the stage-2 input,
    as in the release (``x + Variable(oups[-1].data)``): equal to the detached reference,
    different from one that back-propagates through the sum."""
    model = randomise(MODELS.build(dict(type='RESCAN', prediction='additive', depth=4,
                                        channels=6, num_stages=2)).double(), 0.3)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)

    def grads(fn):
        model.zero_grad()
        fn(x)[-1].square().sum().backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    ours = grads(model.forward_stages)
    torch.testing.assert_close(ours, grads(lambda v: reference_rescan(model, v)), rtol=0, atol=1e-10)
    undetached = grads(lambda v: reference_rescan(model, v, detach_previous=False))
    assert (ours - undetached).abs().max() > 1e-6


# ------------------------------------------------------------------------------------------
# The converter.

def release_file(path, arch, seed=0):
    """A file saved as the release's train.py saves one: {'net', 'clock', 'opt'}."""
    model = randomise(MODELS.build(dict(arch)), 0.3, seed)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    torch.save({'net': model.state_dict(), 'clock': 19975, 'opt': opt.state_dict()}, path)
    return model


def test_converter_reverses_the_colour_channels_only(tmp_path):
    src = tmp_path / 'latest'
    bgr_model = release_file(src, dict(type='RESCAN', depth=4, channels=6, num_stages=2)).eval()
    state, wrapper = unwrap_state_dict(torch.load(src, weights_only=True))
    assert wrapper == 'net'
    converted = get_converter('rescan')(state)
    flipped = {k for k in state if not torch.equal(state[k], converted[k])}
    assert flipped == {'rnns.0.conv_xz.weight', 'rnns.0.conv_xr.weight', 'rnns.0.conv_xn.weight',
                       'dec.3.weight', 'dec.3.bias'}
    torch.testing.assert_close(converted['rnns.0.conv_xz.weight'],
                               state['rnns.0.conv_xz.weight'][:, [2, 1, 0]])
    torch.testing.assert_close(converted['dec.3.bias'], state['dec.3.bias'][[2, 1, 0]])
    rgb_model = MODELS.build(dict(type='RESCAN', depth=4, channels=6, num_stages=2)).eval()
    rgb_model.load_state_dict(load_official_checkpoint(src, 'rescan', arch=rgb_model))
    x = torch.rand(1, 3, 10, 9, dtype=torch.float64)
    rgb_model.double(), bgr_model.double()
    with torch.no_grad():  # the RGB model on RGB = the BGR model on BGR, channels reversed
        torch.testing.assert_close(rgb_model(x), bgr_model(x.flip(1)).flip(1), rtol=0, atol=1e-12)


@pytest.mark.parametrize('arch, words', [
    (dict(unit='ConvLSTM'), "unit='ConvLSTM', depth=7, channels=24, use_se=True"),
    (dict(depth=5, channels=16), "unit='ConvGRU', depth=5, channels=16, use_se=True"),
    (dict(unit='Conv', use_se=False), "unit='Conv', depth=7, channels=24, use_se=False"),
])
def test_another_variant_is_refused_naming_it(tmp_path, arch, words):
    src = tmp_path / 'latest'
    release_file(src, dict(type='RESCAN', **arch))
    with pytest.raises(CheckpointConversionError) as err:
        load_official_checkpoint(src, 'rescan')  # the default ConvGRU, depth 7, 24 channels
    message = str(err.value)
    assert 'does not fit RESCAN' in message and f"The file holds dict(type='RESCAN', {words})" in message
    assert f"dict(type='RESCAN', {words})" in message and '--check-config CONFIG' in message
    assert len(load_official_checkpoint(src, 'rescan', arch=dict(type='RESCAN', **arch))) > 0


def test_another_model_is_refused_without_a_variant_sentence(tmp_path):
    src = tmp_path / 'net_latest.pth'
    torch.save(OrderedDict(randomise(MODELS.build(dict(type='PReNet')), 0.3).state_dict()), src)
    with pytest.raises(CheckpointConversionError,
                       match=r'does not fit RESCAN: 88 missing keys.*Is it a checkpoint of this'):
        load_official_checkpoint(src, 'rescan')
