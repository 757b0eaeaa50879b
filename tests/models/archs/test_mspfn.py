"""MSPFN: the release's variable layout, exact parameter counts, TensorFlow's 'SAME' and
transposed-convolution conventions, the blocks and the network written out, conversion of
TensorFlow checkpoints and its refusals."""
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.mspfn import (ChannelAttentionUnit, ConvLSTMCell, DownConvPReLU,
                                           UpConvPReLU, same_padding)
from restorelab.models.converters import get_converter, load_official_checkpoint
from restorelab.registry import MODELS
from restorelab.utils.errors import CheckpointConversionError
from tests.fixtures.tf_checkpoint import write_tf_checkpoint

pytestmark = pytest.mark.usefixtures('single_thread')


def deconv(scope, c_out, c_in):  # utils/layer.py deconv_layer + prelu: filter (3, 3, out, in)
    return [(f'{scope}/weight', (3, 3, c_out, c_in)), (f'{scope}/alpha', (c_out,))]


def conv(scope, c_in, c_out):  # conv_layer + prelu: filter (3, 3, in, out)
    return [(f'{scope}/weight', (3, 3, c_in, c_out)), (f'{scope}/alpha', (c_out,))]


def lstm(scope, c_in, hidden):  # BasicConvLSTMCell's slim.conv2d
    return [(f'{scope}/convLSTM/LSTM_conv/weights', (3, 3, c_in + hidden, 4 * hidden)),
            (f'{scope}/convLSTM/LSTM_conv/biases', (4 * hidden,))]


def rcab(scope):  # MODEL.RCAB's four tf.layers.conv2d, two with prelu activations
    return [(f'{scope}/conv2d/kernel', (3, 3, 64, 64)), (f'{scope}/conv2d/bias', (64,)),
            (f'{scope}/conv2d/alpha', (64,)), (f'{scope}/conv2d_1/kernel', (3, 3, 64, 64)),
            (f'{scope}/conv2d_1/bias', (64,)), (f'{scope}/conv2d_2/kernel', (1, 1, 64, 16)),
            (f'{scope}/conv2d_2/bias', (16,)), (f'{scope}/conv2d_2/alpha', (16,)),
            (f'{scope}/conv2d_3/kernel', (1, 1, 16, 64)), (f'{scope}/conv2d_3/bias', (64,))]


def release_layout(root='generator', block='BCM', num_ffms=17, caus=(1, 1, 1)):
    """The release's variables in creation order (TEST_MSPFN_M17N1.py: root 'generator',
    blocks 'BCM'; MSPFN.py: 'model', 'URAB'); ``caus`` per scale 1, 1/2, 1/4."""
    rm = f'{root}/residual_memory'
    layout = deconv(f'{root}/rnn1', 64, 3) + deconv(f'{root}/rnn2', 64, 3) + deconv(f'{root}/rnn4', 64, 3)
    layout += (deconv(f'{rm}/rain4_res1', 32, 64) + lstm(f'{rm}/lstm_group4', 32, 64)
               + deconv(f'{rm}/rain4_res2', 64, 64) + deconv(f'{rm}/upRMM4_2', 64, 64)
               + deconv(f'{rm}/rain2_res1', 32, 64) + lstm(f'{rm}/lstm_group2', 32, 128)
               + deconv(f'{rm}/rain2_res2', 64, 128) + deconv(f'{rm}/upRMM4_1', 64, 64)
               + deconv(f'{rm}/upRMM2_1', 64, 64) + deconv(f'{rm}/rain_res1', 32, 64)
               + lstm(f'{rm}/lstm_group', 32, 256) + deconv(f'{rm}/rain_res2', 64, 256))
    for n in range(num_ffms):
        s4, s2, s1 = f'{root}/{block}4_{n}', f'{root}/{block}2_{n}', f'{root}/{block}_{n}'
        layout += conv(f'{s4}/down4_{n + 1}', 64, 64)
        layout += [k for m in range(caus[2]) for k in rcab(f'{s4}/group_{n + 1}_RCAB{m + 1}')]
        layout += deconv(f'{s4}/up_{n + 1}', 64, 128) + deconv(f'{s2}/up{block}4_2_{n}', 64, 64)
        layout += conv(f'{s2}/down2_{n + 1}', 64, 64)
        layout += [k for m in range(caus[1]) for k in rcab(f'{s2}/group_{n + 1}_RCAB{m + 1}')]
        layout += (deconv(f'{s2}/up_{n + 1}', 64, 128) + deconv(f'{s1}/up{block}4to1_{n}', 64, 64)
                   + deconv(f'{s1}/up{block}2to1_{n}', 64, 64) + conv(f'{s1}/down_{n + 1}', 64, 64))
        layout += [k for m in range(caus[0]) for k in rcab(f'{s1}/group_{n + 1}_RCAB{m + 1}')]
        layout += deconv(f'{s1}/up_{n + 1}', 64, 128)
    layout += (deconv(f'{root}/rnn_recon4', 64, 128) + deconv(f'{root}/rnn_recon2', 64, 128)
               + deconv(f'{root}/rnn_recon', 64, 128) + deconv(f'{root}/up4_2', 64, 64)
               + deconv(f'{root}/up2_1', 64, 128) + deconv(f'{root}/rnn5', 32, 128)
               + [(f'{root}/rnn7/weight', (3, 3, 3, 32))])
    return layout


def numel(layout):
    return sum(int(np.prod(shape)) for _, shape in layout)


def release_state(layout, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((k, torch.randn(shape, generator=gen, dtype=torch.float64) / 8)
                       for k, shape in layout)


@pytest.mark.parametrize('root, block, caus, variables, values', [
    ('generator', 'BCM', (1, 1, 1), 859, 15_823_424),  # TEST_MSPFN_M17N1.py (released weights)
    ('model', 'URAB', (3, 3, 1), 1539, 20_995_776),  # MSPFN.py (train_MSPFN.py)
])
def test_full_size_counts_equal_the_release(root, block, caus, variables, values):
    layout = release_layout(root, block, caus=caus)
    assert len(layout) == variables and numel(layout) == values
    model = MODELS.build(dict(type='MSPFN') if caus == (1, 1, 1) else dict(type='MSPFN', num_caus=caus))
    assert count_parameters(model) == values and model.size_multiple == 4
    assert (model.num_ffms, model.num_caus) == (17, caus)  # the default: the released network


def test_converter_maps_every_variable_with_its_layout():
    layout = release_layout(num_ffms=2, caus=(2, 1, 1))
    tf_state = release_state(layout)
    for name, shape in layout[:3]:  # Adam's slots, as a train_MSPFN.py checkpoint holds them
        tf_state[f'{name}/Adam'] = torch.zeros(shape)
        tf_state[f'{name}/Adam_1'] = torch.zeros(shape)
    tf_state['beta1_power'], tf_state['MSPFN/global_step'] = torch.tensor(0.9), torch.tensor(7)
    converted = get_converter('mspfn')(tf_state)
    model = MODELS.build(dict(type='MSPFN', num_ffms=2, num_caus=(2, 1, 1)))
    assert sorted(converted) == sorted(model.state_dict())
    model.load_state_dict(converted, strict=True)
    t = tf_state
    # stride-1 deconv (3, 3, out, in) -> conv (out, in, 3, 3), flipped in space
    assert converted['ife1.conv.weight'][5, 2, 0, 1] == t['generator/rnn1/weight'][2, 1, 5, 2]
    assert converted['rm.tail.weight'][1, 9, 2, 0] == t['generator/rnn7/weight'][0, 2, 1, 9]
    assert converted['cfm.rru2.conv_out.conv.weight'][3, 100, 1, 2] == \
        t['generator/residual_memory/rain2_res2/weight'][1, 0, 3, 100]
    # stride-2 conv (3, 3, in, out) -> (out, in, 3, 3); stride-2 deconv (3, 3, out, in) -> (in, out, 3, 3)
    assert converted['ffm.1.block2.down.conv.weight'][4, 6, 0, 2] == t['generator/BCM2_1/down2_2/weight'][0, 2, 6, 4]
    assert converted['ffm.0.block1.up.deconv.weight'][70, 3, 2, 1] == t['generator/BCM_0/up_1/weight'][2, 1, 3, 70]
    assert converted['ffm.1.up4_1.deconv.weight'][8, 9, 1, 0] == t['generator/BCM_1/upBCM4to1_1/weight'][1, 0, 9, 8]
    # ConvLSTM: [x, h] in, (i, j, f, o) out, kept in order
    assert converted['cfm.rru1.lstm.conv.weight'][600, 40, 2, 2] == \
        t['generator/residual_memory/lstm_group/convLSTM/LSTM_conv/weights'][2, 2, 40, 600]
    # CAU: conv2d, conv2d_1, conv2d_2, conv2d_3 of the release's RCAB
    cau = 'generator/BCM_1/group_2_RCAB2'
    assert torch.equal(converted['ffm.1.block1.caus.1.reduce.bias'], t[f'{cau}/conv2d_2/bias'])
    assert torch.equal(converted['ffm.1.block1.caus.1.reduce_prelu.weight'], t[f'{cau}/conv2d_2/alpha'])
    assert converted['ffm.1.block1.caus.1.expand.weight'][33, 7, 0, 0] == t[f'{cau}/conv2d_3/kernel'][0, 0, 7, 33]
    assert torch.equal(converted['ffm.1.block1.caus.1.prelu1.weight'], t[f'{cau}/conv2d/alpha'])


def test_both_release_scopes_convert_to_the_same_keys():
    ours = [get_converter('mspfn')(release_state(release_layout(root, block, num_ffms=1, caus=(3, 3, 1))))
            for root, block in (('generator', 'BCM'), ('model', 'URAB'))]
    assert list(ours[0]) == list(ours[1])


@pytest.mark.parametrize('size, padding', [((64, 3, 2), (0, 1)), ((11, 3, 2), (1, 1)),
                                           ((16, 4, 4), (0, 0)), ((5, 3, 1), (1, 1))])
def test_same_padding_puts_the_odd_pixel_after(size, padding):
    assert same_padding(*size) == padding


@pytest.mark.parametrize('h, w', [(8, 10), (7, 9), (6, 5)])
def test_stride2_deconv_is_the_adjoint_of_the_same_conv(h, w):
    """TensorFlow's conv2d_transpose is the gradient of conv2d with 'SAME' padding: with unit
    PReLU slopes (identity), <down(x), y> = <x, up(y)> for the same kernel."""
    torch.manual_seed(0)
    down, up = DownConvPReLU(3, 4).double(), UpConvPReLU(4, 3).double()
    for m in (down, up):
        torch.nn.init.ones_(m.prelu.weight)
    up.deconv.weight.data.copy_(down.conv.weight.data)  # (4, 3, 3, 3): conv out/in = deconv in/out
    x = torch.rand(2, 3, h, w, dtype=torch.float64)
    y = torch.rand(2, 4, -(-h // 2), -(-w // 2), dtype=torch.float64)
    with torch.no_grad():
        lhs, rhs = (down(x) * y).sum(), (x * up(y, (h, w))).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-13, atol=0)
    top, left = same_padding(h, 3, 2)[0], same_padding(w, 3, 2)[0]
    reference = F.conv2d(F.pad(x, (left, same_padding(w, 3, 2)[1], top, same_padding(h, 3, 2)[1])),
                         down.conv.weight, stride=2)
    torch.testing.assert_close(down(x), reference, rtol=0, atol=0)


def test_conv_lstm_step_from_zero_state():
    torch.manual_seed(0)
    cell = ConvLSTMCell(5, 6).double()
    x = torch.rand(2, 5, 7, 4, dtype=torch.float64)
    gates = F.conv2d(torch.cat((x, torch.zeros(2, 6, 7, 4, dtype=torch.float64)), 1),
                     cell.conv.weight, cell.conv.bias, padding=1)
    i, j, f, o = gates[:, :6], gates[:, 6:12], gates[:, 12:18], gates[:, 18:]
    c = torch.sigmoid(i) * torch.tanh(j)  # c * sigmoid(f + 1) vanishes with c = 0
    with torch.no_grad():
        h, (c_out, h_out) = cell(x)
        torch.testing.assert_close(h, torch.tanh(c) * torch.sigmoid(o), rtol=0, atol=1e-12)
        torch.testing.assert_close(c_out, c, rtol=0, atol=1e-12)
        state = (torch.rand_like(c), torch.rand_like(c))
        gates = F.conv2d(torch.cat((x, state[1]), 1), cell.conv.weight, cell.conv.bias, padding=1)
        c2 = state[0] * torch.sigmoid(gates[:, 12:18] + 1.0) + torch.sigmoid(gates[:, :6]) * torch.tanh(gates[:, 6:12])
        torch.testing.assert_close(cell(x, state)[1][0], c2, rtol=0, atol=1e-12)


def prelu(x, slope):
    return torch.clamp(x, min=0) + slope.view(1, -1, 1, 1) * torch.clamp(x, max=0)


def test_channel_attention_unit():
    cau = ChannelAttentionUnit().double()
    with torch.no_grad():
        for p in cau.parameters():
            p.copy_(torch.rand_like(p) - 0.5)
        x = torch.rand(2, 64, 5, 6, dtype=torch.float64)
        y = F.conv2d(prelu(F.conv2d(x, cau.conv1.weight, cau.conv1.bias, padding=1), cau.prelu1.weight),
                     cau.conv2.weight, cau.conv2.bias, padding=1)
        s = prelu(F.conv2d(y.mean((2, 3), keepdim=True), cau.reduce.weight, cau.reduce.bias),
                  cau.reduce_prelu.weight)
        expected = x + y * torch.sigmoid(F.conv2d(s, cau.expand.weight, cau.expand.bias))
        torch.testing.assert_close(cau(x), expected, rtol=0, atol=1e-12)


def reference_mspfn(model, x):
    """The module docstring's equations with F.* ops on the model's weights."""
    def cp(m, v):  # ConvPReLU
        return prelu(F.conv2d(v, m.conv.weight, padding=1), m.prelu.weight)

    def down(m, v):
        (t, b), (l_, r) = same_padding(v.shape[2], 3, 2), same_padding(v.shape[3], 3, 2)
        return prelu(F.conv2d(F.pad(v, (l_, r, t, b)), m.conv.weight, stride=2), m.prelu.weight)

    def up(m, v, size):
        full = F.conv_transpose2d(v, m.deconv.weight, stride=2)
        t, l_ = same_padding(size[0], 3, 2)[0], same_padding(size[1], 3, 2)[0]
        return prelu(full[..., t:t + size[0], l_:l_ + size[1]], m.prelu.weight)

    def plus(f, coarser):  # f + c_1 + c_2, in the release's order
        for c in coarser:
            f = f + c
        return f

    def rru(m, f, *coarser):
        v = plus(f, coarser)
        g = F.conv2d(torch.cat((cp(m.conv_in, v), torch.zeros(v.shape[0], m.lstm.hidden_channels,
                                                              *v.shape[2:], dtype=v.dtype)), 1),
                     m.lstm.conv.weight, m.lstm.conv.bias, padding=1)
        i, j, _, o = g.chunk(4, 1)
        return cp(m.conv_out, torch.tanh(torch.sigmoid(i) * torch.tanh(j)) * torch.sigmoid(o)) + f

    def ublock(m, u, *coarser):
        d = down(m.down, plus(u, coarser))
        a = m.caus(d)  # CAUs: tested on their own above
        return u + up(m.up, torch.cat((d, a), 1), u.shape[2:])

    rain = x.flip(1) * 2 - 1
    s1, s2, s4 = rain.shape[2:], (rain.shape[2] // 2, rain.shape[3] // 2), (rain.shape[2] // 4, rain.shape[3] // 4)
    f1, f2, f4 = cp(model.ife1, rain), cp(model.ife2, F.avg_pool2d(rain, 2)), cp(model.ife4, F.avg_pool2d(rain, 4))
    cfm = model.cfm
    c4 = rru(cfm.rru4, f4)
    c4_2 = up(cfm.up4_2, c4, s2)
    c2 = rru(cfm.rru2, f2, c4_2)
    c1 = rru(cfm.rru1, f1, up(cfm.up2_1, c2, s1), up(cfm.up4_1, c4_2, s1))
    u1, u2, u4 = c1, c2, c4
    for ffm in model.ffm:
        u4 = ublock(ffm.block4, u4)
        u4_2 = up(ffm.up4_2, u4, s2)
        u2 = ublock(ffm.block2, u2, u4_2)
        u1 = ublock(ffm.block1, u1, up(ffm.up4_1, u4_2, s1), up(ffm.up2_1, u2, s1))
    rm = model.rm
    m4, m2, m1 = (cp(rm.merge4, torch.cat((u4, c4), 1)), cp(rm.merge2, torch.cat((u2, c2), 1)),
                  cp(rm.merge1, torch.cat((u1, c1), 1)))
    m2_1 = up(rm.up2_1, torch.cat((up(rm.up4_2, m4, s2), m2), 1), s1)
    r = F.conv2d(cp(rm.fuse, torch.cat((m1, m2_1), 1)), rm.tail.weight, padding=1)
    assert s4 == f4.shape[2:]
    return ((rain - r).flip(1) + 1) / 2


@pytest.mark.parametrize('size', [(16, 20), (12, 28)])  # 1/4 scale 4x5 (even/odd) and 3x7 (odd)
def test_forward_is_the_multi_scale_progressive_fusion(size):
    model = MODELS.build(dict(type='MSPFN', num_ffms=2, num_caus=(1, 2, 1))).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
        x = torch.rand(1, 3, *size, dtype=torch.float64)
        torch.testing.assert_close(model(x), reference_mspfn(model, x), rtol=0, atol=1e-12)


def test_sizes_must_be_multiples_of_four_and_the_restorer_pads():
    model = MODELS.build(dict(type='MSPFN', num_ffms=1)).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 12, 20)).shape == (1, 3, 12, 20)
        with pytest.raises(ValueError, match='multiples of 4 .* got 10x12'):
            model(torch.rand(1, 3, 10, 12))
        restorer = MODELS.build(dict(type='ImageRestorer', arch=dict(type='MSPFN', num_ffms=1),
                                     pixel_loss=dict(type='L1Loss'))).eval()
        assert restorer.restore(torch.rand(1, 3, 10, 13)).shape == (1, 3, 10, 13)


def test_other_variants_and_models_are_refused(tmp_path):
    arrays = {k: v.float().numpy() for k, v in
              release_state(release_layout('model', 'URAB', num_ffms=1, caus=(3, 3, 1))).items()}
    write_tf_checkpoint(tmp_path / 'MSPFN' / 'epoch1', arrays)  # 18 MB
    with pytest.raises(CheckpointConversionError,
                       match=r"The file holds dict\(type='MSPFN', num_ffms=1, num_caus=\(3, 3, 1\)\): "
                             r'pass a config whose model.arch is that'):
        load_official_checkpoint(tmp_path / 'MSPFN', 'mspfn', arch=dict(type='MSPFN', num_ffms=1))
    got = load_official_checkpoint(tmp_path / 'MSPFN', 'mspfn',
                                   arch=dict(type='MSPFN', num_ffms=1, num_caus=(3, 3, 1)))
    assert len(got) == len(arrays)
    # The released folder zipped, under the name the zoo caches a Drive download by.
    archive = tmp_path / 'mspfn_m17n1_rain13k.pth'
    with zipfile.ZipFile(archive, 'w') as z:
        for path in sorted((tmp_path / 'MSPFN').iterdir()):
            z.write(path, f'MSPFN/{path.name}')
    zipped = load_official_checkpoint(archive, 'mspfn',
                                      arch=dict(type='MSPFN', num_ffms=1, num_caus=(3, 3, 1)))
    assert list(zipped) == list(got) and all(torch.equal(zipped[k], got[k]) for k in got)
    write_tf_checkpoint(tmp_path / 'ddn' / 'model', {'layer_1/conv_1/kernel': np.zeros((3, 3, 3, 16), np.float32)})
    with pytest.raises(CheckpointConversionError,
                       match=r'does not fit MSPFN: 91 missing keys .*1 unexpected keys '
                             r'\(first: layer_1/conv_1/kernel\)'):
        load_official_checkpoint(tmp_path / 'ddn' / 'model', 'mspfn', arch=dict(type='MSPFN', num_ffms=1))
