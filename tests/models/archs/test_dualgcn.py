"""DualGCN: the release's variable layout, exact parameter count, the sGCN / DCM / cGCN maths
written out on the release's NHWC tensors, any size, conversion and refusals."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.converters import CheckpointConversionError, load_official_checkpoint
from restorelab.registry import MODELS
from tests.fixtures.dualgcn_release import layer, random_release_arrays, release_layout, unit_kernels
from tests.fixtures.tf_checkpoint import write_tf_checkpoint

UNIT_MODULES = ['sgcn.theta', 'sgcn.nu', 'sgcn.xi', 'sgcn.out', 'dcm.conv1', 'dcm.conv2',
                'dcm.conv3', 'dcm.conv4', 'dcm.fusion', 'cgcn.zeta', 'cgcn.kappa',
                'cgcn.graph_conv1', 'cgcn.graph_conv2', 'cgcn.out']


def restorelab_layout(c):
    """[(key, shape)] of restorelab's DualGCN(channels=c), in module order."""
    def unit(prefix):
        keys = []
        for name, (kh, kw, cin, cout) in zip(UNIT_MODULES, unit_kernels(c)):
            weight = (cout, cin) if 'graph_conv' in name else (cout, cin, kh, kw)
            keys += [(f'{prefix}.{name}.weight', weight), (f'{prefix}.{name}.bias', (cout,))]
        return keys
    keys = [('basic_fea0.weight', (c, 3, 3, 3)), ('basic_fea0.bias', (c,)),
            ('basic_fea1.weight', (c, c, 3, 3)), ('basic_fea1.bias', (c,))]
    for k in range(5):
        keys += unit(f'encoder{k}')
    keys += unit('middle')
    for k in reversed(range(5)):
        keys += [(f'skip_fusion{k}.weight', (c, 2 * c, 1, 1)), (f'skip_fusion{k}.bias', (c,))]
        keys += unit(f'decoder{k}')
    return keys + [('reconstruct0.weight', (c, 2 * c, 3, 3)), ('reconstruct0.bias', (c,)),
                   ('reconstruct1.weight', (3, c, 3, 3)), ('reconstruct1.bias', (3,))]


def numel(shapes):
    return sum(int(np.prod(s)) for s in shapes)


def test_parameter_count_equals_the_release():
    # 2,731,071: the sum over the released TrainedModel/model-*.index files' variables too.
    assert numel(release_layout(72).values()) == 2_731_071
    model = MODELS.build(dict(type='DualGCN'))
    assert model.channels == 72 and model.size_multiple == 1
    assert count_parameters(model) == 2_731_071
    assert len(release_layout(72)) == 326  # kernels and biases of 163 convs


def test_key_layout_small_configuration():
    model = MODELS.build(dict(type='DualGCN', channels=8))
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == restorelab_layout(8)


# ---- the release's maths, NHWC, on its own kernels (model.py) -----------------------------

def conv(x, arrays, name, dilation=1, relu=False):
    """tf.layers.conv2d(..., padding SAME) on an NHWC tensor with the release's kernel."""
    kernel, bias = (torch.from_numpy(arrays[f'{name}/{p}']) for p in ('kernel', 'bias'))
    if kernel.shape[0] == 1:
        y = torch.einsum('bhwi,io->bhwo', x, kernel[0, 0]) + bias
    else:
        pad = dilation * (kernel.shape[0] // 2)
        y = F.conv2d(x.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1), bias, padding=pad,
                     dilation=dilation).permute(0, 2, 3, 1)
    return F.relu(y) if relu else y


def flat_softmax(t):
    return t.reshape(t.shape[0], -1).softmax(-1).reshape(t.shape)


def spatial_gcn(x, a, s):
    b, h, w, c = x.shape
    theta = conv(x, a, f'{s}/{layer(0)}').reshape(b, h * w, c // 2)
    nu = flat_softmax(conv(x, a, f'{s}/{layer(1)}').reshape(b, h * w, c // 2))
    xi = flat_softmax(conv(x, a, f'{s}/{layer(2)}').reshape(b, h * w, c // 2))
    f_s = torch.einsum('bpi,bpj->bij', nu, xi)
    af_s = torch.einsum('bpi,bij->bpj', theta, f_s).reshape(b, h, w, c // 2)
    return conv(af_s, a, f'{s}/{layer(3)}') + x


def channel_gcn(x, a, s, first):
    b, h, w, c = x.shape
    zeta = conv(x, a, f'{s}/{layer(first)}').reshape(b, h * w, c // 2)
    kappa = conv(x, a, f'{s}/{layer(first + 1)}').reshape(b, h * w, c // 4)
    f_c = flat_softmax(torch.einsum('bpn,bpc->bnc', kappa, zeta))[:, None]  # (b, 1, N, C)
    f_c = F.relu(f_c + conv(f_c, a, f'{s}/{layer(first + 2)}')).permute(0, 3, 1, 2)  # (b, C, 1, N)
    f_c = conv(f_c, a, f'{s}/{layer(first + 3)}').reshape(b, c // 2, c // 4)
    out = torch.einsum('bpc,bcn->bpn', zeta, f_c).reshape(b, h, w, c // 4)
    return conv(out, a, f'{s}/{layer(first + 4)}') + x


def basic_unit(x, a, s, offset=0):
    f_s = spatial_gcn(x, a, s) if offset == 0 else spatial_gcn_at(x, a, s, offset)
    c1 = conv(f_s, a, f'{s}/{layer(offset + 4)}', relu=True)
    c2 = conv(c1, a, f'{s}/{layer(offset + 5)}', relu=True)
    c3 = conv(f_s, a, f'{s}/{layer(offset + 6)}', dilation=3, relu=True)
    c4 = conv(c3, a, f'{s}/{layer(offset + 7)}', dilation=3, relu=True)
    f_dcm = conv(torch.cat([f_s, c1, c2, c3, c4], -1), a, f'{s}/{layer(offset + 8)}', relu=True)
    return channel_gcn(f_dcm, a, s, offset + 9) + x


def spatial_gcn_at(x, a, s, offset):
    """spatial_gcn for a decoder scope, whose unit's convs start at conv2d_<offset>."""
    renamed = {f'{s}/{layer(i)}/{p}': a[f'{s}/{layer(i + offset)}/{p}']
               for i in range(4) for p in ('kernel', 'bias')}
    return spatial_gcn(x, renamed, s)


def release_inference(rain, a):
    """model.py's Inference on NCHW input, NCHW output."""
    x = rain.permute(0, 2, 3, 1)
    g = 'Generator'
    fea0 = conv(x, a, f'{g}/basic/conv2d')
    fea1 = conv(fea0, a, f'{g}/basic/conv2d_1')
    enc, t = [], fea1
    for k in range(5):
        t = basic_unit(t, a, f'{g}/encoder{k}')
        enc.append(t)
    t = basic_unit(t, a, f'{g}/middle')
    for k in reversed(range(5)):
        t = conv(torch.cat([t, enc[k]], -1), a, f'{g}/decoder{k}/conv2d')
        t = basic_unit(t, a, f'{g}/decoder{k}', offset=1)
    end = conv(torch.cat([t, fea1], -1), a, f'{g}/reconstruct/conv2d', relu=True) + fea0
    return (x + conv(end, a, f'{g}/reconstruct/conv2d_1')).permute(0, 3, 1, 2)


@pytest.fixture(scope='module')
def converted_small(tmp_path_factory):
    """A channels=8 release-format checkpoint, converted, and its arrays."""
    arrays = random_release_arrays(8)
    index, _ = write_tf_checkpoint(tmp_path_factory.mktemp('ck') / 'model-small', arrays)
    state = load_official_checkpoint(index, 'dualgcn', arch=dict(type='DualGCN', channels=8))
    return arrays, state


def test_converter_maps_every_release_variable(converted_small):
    arrays, state = converted_small
    assert [(k, tuple(v.shape)) for k, v in state.items()] == restorelab_layout(8)
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    assert torch.equal(state['basic_fea0.weight'], t['Generator/basic/conv2d/kernel'].permute(3, 2, 0, 1))
    assert torch.equal(state['encoder0.dcm.conv3.weight'],
                       t['Generator/encoder0/conv2d_6/kernel'].permute(3, 2, 0, 1))
    assert torch.equal(state['skip_fusion3.weight'],
                       t['Generator/decoder3/conv2d/kernel'].permute(3, 2, 0, 1))
    assert torch.equal(state['decoder3.cgcn.graph_conv1.weight'],
                       t['Generator/decoder3/conv2d_12/kernel'][0, 0].t())
    assert torch.equal(state['decoder3.cgcn.graph_conv2.bias'], t['Generator/decoder3/conv2d_13/bias'])
    assert torch.equal(state['middle.cgcn.out.bias'], t['Generator/middle/conv2d_13/bias'])
    assert torch.equal(state['reconstruct1.weight'],
                       t['Generator/reconstruct/conv2d_1/kernel'].permute(3, 2, 0, 1))


def build_small(state):
    model = MODELS.build(dict(type='DualGCN', channels=8)).double().eval()
    model.load_state_dict(state, strict=True)
    return model


def test_blocks_are_the_release_maths(converted_small):
    arrays, state = converted_small
    model = build_small(state)
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 7, dtype=torch.float64)
    xh = x.permute(0, 2, 3, 1)
    s = 'Generator/encoder2'
    unit = model.encoder2
    with torch.no_grad():
        torch.testing.assert_close(unit.sgcn(x), spatial_gcn(xh, arrays, s).permute(0, 3, 1, 2),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(unit.cgcn(x), channel_gcn(xh, arrays, s, 9).permute(0, 3, 1, 2),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(unit(x), basic_unit(xh, arrays, s).permute(0, 3, 1, 2),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(model.decoder1(x), basic_unit(
            xh, arrays, 'Generator/decoder1', offset=1).permute(0, 3, 1, 2), rtol=0, atol=1e-12)


@pytest.mark.parametrize('size', [(6, 6), (5, 9)])
def test_network_is_the_release_inference(converted_small, size):
    arrays, state = converted_small
    model = build_small(state)
    rain = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(rain), release_inference(rain, arrays), rtol=0, atol=1e-12)


def test_any_size_keeps_shape():
    model = MODELS.build(dict(type='DualGCN', channels=4)).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 7, 11)).shape == (2, 3, 7, 11)


def test_spatial_graph_is_global():
    """The sGCN's softmax runs over the whole image: changing one corner pixel changes the
    output at the opposite corner (a 1x1-conv block with a local receptive field would not)."""
    torch.manual_seed(0)
    block = MODELS.build(dict(type='DualGCN', channels=8)).encoder0.sgcn.double()
    x = torch.rand(1, 8, 9, 9, dtype=torch.float64)
    y = x.clone()
    y[..., 0, 0] += 1.0
    with torch.no_grad():
        assert (block(x)[..., -1, -1] - block(y)[..., -1, -1]).abs().max() > 1e-6


def test_channels_must_allow_the_graphs():
    with pytest.raises(ValueError, match=r'channels must be an integer >= 4 .* got 3'):
        MODELS.build(dict(type='DualGCN', channels=3))


def test_other_width_is_refused_naming_the_variant(converted_small, tmp_path):
    arrays, _ = converted_small
    index, _ = write_tf_checkpoint(tmp_path / 'model-small', arrays)
    with pytest.raises(CheckpointConversionError) as err:
        load_official_checkpoint(index, 'dualgcn')  # the default arch: channels=72
    message = str(err.value)
    assert 'does not fit DualGCN: ' in message and 'shape mismatches (basic_fea0.weight: ' \
        'checkpoint (8, 3, 3, 3) vs model (72, 3, 3, 3)' in message
    assert ("The file holds dict(type='DualGCN', channels=8): pass a config whose model.arch is "
            "that (--check-config CONFIG)") in message


def test_another_models_tensorflow_checkpoint_is_refused(tmp_path):
    arrays = random_release_arrays(8)
    del arrays['Generator/middle/conv2d_13/kernel']
    arrays['Generator/middle/conv2d_14/kernel'] = np.zeros((1, 1, 2, 8))
    arrays['inference/conv_1/weights'] = np.zeros((3, 3, 3, 16))
    index, _ = write_tf_checkpoint(tmp_path / 'model-other', arrays)
    with pytest.raises(CheckpointConversionError,
                       match=r'not a DualGCN checkpoint of the release .*: 1 missing variables '
                             r'\(first: Generator/middle/conv2d_13/kernel\); 2 unexpected \(first: '
                             r'Generator/middle/conv2d_14/kernel, inference/conv_1/weights\)'):
        load_official_checkpoint(index, 'dualgcn', arch=dict(type='DualGCN', channels=8))


def test_a_torch_file_is_refused(tmp_path):
    path = tmp_path / 'net_latest.pth'
    torch.save(MODELS.build(dict(type='DualGCN', channels=4)).state_dict(), path)
    with pytest.raises(CheckpointConversionError,
                       match=r'not a DualGCN checkpoint .* \(first: Generator/basic/conv2d/bias'):
        load_official_checkpoint(path, 'dualgcn', arch=dict(type='DualGCN', channels=4))
