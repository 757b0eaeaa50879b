"""RCDNet: official key layout, exact parameter counts, the unfolded stages written out,
the initial rain kernels, and the converter's round trip and refusals."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.rcdnet import init_rain_kernels, rain_kernel
from restorelab.models.converters import (CheckpointConversionError, check_state_dict_fits,
                                          get_converter, load_official_checkpoint)
from restorelab.registry import MODELS
from restorelab.utils.errors import ModelInitFileError

pytestmark = pytest.mark.usefixtures('single_thread')


def block_keys(name, channels):
    """One residual block of the release's Xnet/Mnet: Sequential(conv, BN, ReLU, conv, BN)."""
    keys = []
    for i in (0, 3):
        keys += [(f'{name}.{i}.weight', (channels, channels, 3, 3)), (f'{name}.{i}.bias', (channels,))]
        keys += [(f'{name}.{i + 1}.{p}', (channels,)) for p in ('weight', 'bias', 'running_mean', 'running_var')]
        keys += [(f'{name}.{i + 1}.num_batches_tracked', ())]
    return keys


def xnet_keys(name, num_Z, blocks=4):
    return [k for i in range(1, blocks + 1) for k in block_keys(f'{name}.resx{i}', 3 + num_Z)]


def mnet_keys(name, num_M, blocks=4):
    return [(f'{name}.tau', (1, num_M, 1, 1))] + [
        k for i in range(1, blocks + 1) for k in block_keys(f'{name}.resm{i}', num_M)]


def release_layout(stages=17, num_M=32, num_Z=32):
    """hongwang01/RCDNet for_syn/src/model/rcdnet.py ``Mainnet``'s state_dict, in its order."""
    iters = stages - 1
    return ([('eta1', (1,)), ('eta2', (1,)), ('eta11', (iters, 1)), ('eta12', (iters, 1)),
             ('weight0', (3, num_M, 9, 9)), ('conv', (iters, 3, num_M, 9, 9)),
             ('w_z_f', (num_Z, 3, 3, 3)), ('tau', (1,))]
            + xnet_keys('xnet', num_Z) + mnet_keys('mnet', num_M)
            + [k for s in range(stages) for k in xnet_keys(f'x_stage.{s}', num_Z)]
            + [k for s in range(stages) for k in mnet_keys(f'm_stage.{s}', num_M)]
            + xnet_keys('fxnet', num_Z))


def restorelab_layout(stages=17, num_M=32, num_Z=32):
    """The release's layout less ``eta1`` and ``mnet`` (unused), one kernel copy in ``conv``."""
    return [(k, (3, num_M, 9, 9) if k == 'conv' else shape)
            for k, shape in release_layout(stages, num_M, num_Z)
            if k != 'eta1' and not k.startswith('mnet.')]


def numel(layout, buffers=False):
    return sum(torch.Size(shape).numel() for k, shape in layout
               if buffers or not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')))


def release_file(layout, seed=0):
    """A state dict shaped like a released model_best.pt, random values."""
    gen = torch.Generator().manual_seed(seed)

    def draw(key, shape):
        if key.endswith('tracked'):
            return torch.randint(0, 100, shape, generator=gen)
        if key.endswith('running_var'):
            return 0.5 + torch.rand(shape, generator=gen)
        return torch.randn(shape, generator=gen) * 0.1

    return OrderedDict((k, draw(k, shape)) for k, shape in layout)


def test_release_layout_counts():
    # The release's Mainnet(stage=17, num_M=32, num_Z=32) has 3,166,355 parameters (its
    # main.py print_network), 2,098 state_dict entries.
    assert len(release_layout()) == 2098 and numel(release_layout()) == 3_166_355
    unused = 74_528 + 1 + 15 * 3 * 32 * 81  # mnet, eta1, the 15 kernel copies never read
    assert numel(restorelab_layout()) == 3_166_355 - unused == 2_975_186


@pytest.mark.parametrize('stages, num_Z', [(17, 32), (3, 16)])
def test_layout_and_parameter_count(stages, num_Z):
    model = MODELS.build(dict(type='RCDNet', stages=stages, num_Z=num_Z))
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        restorelab_layout(stages, 32, num_Z)
    assert count_parameters(model) == numel(restorelab_layout(stages, 32, num_Z))
    assert model.size_multiple == 1
    if stages == 17:  # the default: the released configuration
        assert MODELS.build(dict(type='RCDNet')).state_dict().keys() == model.state_dict().keys()
        assert (model.num_M, model.kernel_size, model.rgb_range) == (32, 9, 255.0)
        assert count_parameters(model) == 2_975_186 and model.eta11.shape == (16, 1)


# ------------------------------------------------------------------ the maths, written out
def bn(x, seq, i):
    m = seq[i]
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)


def prox(net, x, prefix):
    """A proximal network: relu(x + BN(conv(relu(BN(conv(x)))))) per block."""
    for i in range(1, 5):
        seq = getattr(net, f'{prefix}{i}')
        h = F.relu(bn(F.conv2d(x, seq[0].weight, seq[0].bias, padding=1), seq, 1))
        x = F.relu(x + bn(F.conv2d(h, seq[3].weight, seq[3].bias, padding=1), seq, 4))
    return x


def reference_rcdnet(model, x, stages):
    """The module doc's equations with F.* ops on the model's weights (eval mode), on
    O = 255 x; returns the output / 255 and every B^(s), R^(s) / 255."""
    O = x * 255
    C0, C = model.weight0 / 10, model.conv / 10
    Z = F.conv2d(O, model.w_z_f, padding=1)
    out = prox(model.xnet, torch.cat((O, Z), 1), 'resx')
    B0, Z = out[:, :3], out[:, 3:]
    m0 = model.m_stage[0]
    M = F.relu(prox(m0, F.conv_transpose2d(F.relu(O - B0 - model.tau), C0, padding=4), 'resm') - m0.tau)
    R = F.conv2d(M, C, padding=4)
    eta_B = model.eta2 / 10
    out = prox(model.x_stage[0], torch.cat(((1 - eta_B) * B0 + eta_B * (O - R), Z), 1), 'resx')
    B, Z = out[:, :3], out[:, 3:]
    Bs, Rs = [B], [R]
    for s in range(1, stages):
        eta_M, eta_B = model.eta11[s - 1] / 10, model.eta12[s - 1] / 10
        grad = F.conv_transpose2d(F.conv2d(M, C, padding=4) + B - O, C, padding=4)
        ms = model.m_stage[s]
        M = F.relu(prox(ms, M - eta_M * grad, 'resm') - ms.tau)
        R = F.conv2d(M, C, padding=4)
        out = prox(model.x_stage[s], torch.cat(((1 - eta_B) * B + eta_B * (O - R), Z), 1), 'resx')
        B, Z = out[:, :3], out[:, 3:]
        Bs.append(B)
        Rs.append(R)
    final = prox(model.fxnet, out, 'resx')[:, :3]
    return final / 255, B0 / 255, [b / 255 for b in Bs + [final]], [r / 255 for r in Rs]


def randomized(model, seed=0):
    """Every float parameter and BN buffer redrawn (kept moderate so that stages matter)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen, dtype=t.dtype))
            elif name in ('weight0', 'conv'):
                t.copy_(torch.rand(t.shape, generator=gen, dtype=t.dtype) * 20 / 81)
            elif t.dim() == 4 and not name.endswith('tau'):
                t.copy_(torch.randn(t.shape, generator=gen, dtype=t.dtype) / t[0].numel() ** 0.5)
            else:
                t.copy_(0.25 + 0.5 * torch.rand(t.shape, generator=gen, dtype=t.dtype))
    return model


@pytest.mark.parametrize('stages', [1, 3])
def test_forward_is_the_unfolded_algorithm(stages):
    model = randomized(MODELS.build(dict(type='RCDNet', stages=stages, num_M=4, num_Z=5))).double().eval()
    x = torch.rand(2, 3, 11, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    final, B0, Bs, Rs = reference_rcdnet(model, x, stages)
    with torch.no_grad():
        got = model.forward_stages(x)
        out = model(x)
    # [B^(0), B^(1..S), O - R^(1..S), output]
    expected = [B0, *Bs[:-1], *[x - r for r in Rs], final]
    assert len(got) == len(expected) == 2 * stages + 2
    torch.testing.assert_close(out, final, rtol=0, atol=1e-12)
    for ours, ref in zip(got, expected):
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    assert out.abs().max() > 1e-3 and Rs[-1].abs().max() > 1e-4  # not a trivial zero


def test_rain_kernels_change_the_output():
    """The kernel C of stages 2..S reaches the output (it is not a dead parameter)."""
    model = randomized(MODELS.build(dict(type='RCDNet', stages=2, num_M=4, num_Z=5))).double().eval()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = model(x)
        model.conv.mul_(1.5)
        assert (model(x) - before).abs().max() > 1e-6


def test_any_size_keeps_shape():
    model = MODELS.build(dict(type='RCDNet', stages=2, num_Z=4)).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 7, 11)).shape == (2, 3, 7, 11)


@pytest.mark.parametrize('options, message', [
    (dict(stages=0), 'stages must be an int >= 1, got 0'),
    (dict(num_M=2.5), 'num_M must be an int >= 1, got 2.5'),
    (dict(kernel_size=8), 'kernel_size must be an odd int, got 8'),
])
def test_bad_sizes_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='RCDNet', **options))


# ------------------------------------------------------------------ initial rain kernels
def test_initial_kernels_follow_the_release_script():
    bank = init_rain_kernels(32, 9)
    assert bank.shape == (3, 32, 9, 9) and bank.dtype == torch.float32
    assert torch.equal(bank[0], bank[2])  # one kernel for every colour channel
    torch.testing.assert_close(bank.sum(dim=(-1, -2)), torch.ones(3, 32))
    # Kernel 1 = MyRainK(9, 2.5 + 3/12, 0.1, 0.25): inner = round(0.4) = 0, a Gaussian of
    # std 0.25 across the columns and 0.25 * 2.75 along the rows, normalised.
    x, y = np.meshgrid(np.arange(-4, 5.0), np.arange(-4, 5.0))
    h = np.exp(-(x ** 2 + (y / 2.75) ** 2) / (2 * 0.25 ** 2))
    h[h < np.finfo(float).eps * h.max()] = 0
    np.testing.assert_allclose(rain_kernel(9, 2.75, 0.1, 0.25), h / h.sum(), rtol=0, atol=1e-15)
    # Kernel 13 = MyRainK(9, 2 + 13/4, 0.2, 0.5): inner = round(0.8) = 1, flat over |x| <= 1.
    k13 = bank[0, 12].double().numpy()
    assert np.allclose(k13[:, 3], k13[:, 4]) and np.allclose(k13[:, 5], k13[:, 4])
    assert k13[4, 4] > k13[0, 4] > 0  # a vertical streak: slow decay along the rows
    assert k13[4, 0] / k13[4, 4] == pytest.approx(np.exp(-3 ** 2 / (2 * 0.5 ** 2)), rel=1e-12)


def test_init_weights_loads_the_release_kernel_file(tmp_path):
    scipy_io = pytest.importorskip('scipy.io')
    kernels = np.random.default_rng(0).random((3, 4, 9, 9))
    path = tmp_path / 'init_kernel.mat'
    scipy_io.savemat(str(path), {'C9': kernels})
    model = MODELS.build(dict(type='RCDNet', stages=2, num_M=4, num_Z=3, init_kernel_file=str(path)))
    assert torch.equal(model.conv, init_rain_kernels(4, 9))  # construction reads no file
    model.init_weights()
    expected = torch.from_numpy(kernels).float()
    assert torch.equal(model.weight0.data, expected) and torch.equal(model.conv.data, expected)


def test_init_weights_errors_name_the_file(tmp_path):
    scipy_io = pytest.importorskip('scipy.io')
    missing = tmp_path / 'nowhere' / 'init_kernel.mat'
    model = MODELS.build(dict(type='RCDNet', stages=2, num_M=4, num_Z=3, init_kernel_file=str(missing)))
    with pytest.raises(ModelInitFileError, match=f'initial rain-kernel file {missing} does not exist.*'
                                                 'init_kernel_file=None'):
        model.init_weights()
    model.init_kernel_file = tmp_path / 'wrong.mat'
    scipy_io.savemat(str(model.init_kernel_file), {'C9': np.zeros((3, 32, 9, 9))})
    with pytest.raises(ModelInitFileError, match=r'has shape \(3, 32, 9, 9\); this model needs '
                                                 r'\(3, 4, 9, 9\)'):
        model.init_weights()
    scipy_io.savemat(str(model.init_kernel_file), {'K': np.zeros((3, 4, 9, 9))})
    with pytest.raises(ModelInitFileError, match=r"holds no variable C9.*\['K'\]"):
        model.init_weights()


# ------------------------------------------------------------------ converter
def test_converter_keeps_the_used_kernel_and_drops_the_unused_entries():
    state = release_file(release_layout(3, 32, 16))
    converted = get_converter('rcdnet')(state)
    assert [(k, tuple(v.shape)) for k, v in converted.items()] == restorelab_layout(3, 32, 16)
    assert torch.equal(converted['conv'], state['conv'][1])  # the copy the release's forward reads
    assert all(converted[k] is state[k] for k in converted if k != 'conv')
    model = MODELS.build(dict(type='RCDNet', stages=3, num_Z=16))
    check_state_dict_fits(converted, model)
    model.load_state_dict(converted, strict=True)


def test_converter_reads_expanded_release_tensors():
    """The release's eta11/eta12/conv/w_z_f/M-net taus are expanded views (stride 0), as
    torch.load gives them back from its files."""
    state = release_file(release_layout(3, 32, 4))
    state['conv'] = state['conv'][:1].expand(2, -1, -1, -1, -1)
    state['eta11'] = torch.tensor([0.7]).expand(2, 1)
    converted = get_converter('rcdnet')(state)
    model = MODELS.build(dict(type='RCDNet', stages=3, num_Z=4))
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.conv.data, state['conv'][0]) and model.eta11.flatten().tolist() == \
        pytest.approx([0.7, 0.7])


def test_round_trip_through_the_loader_gives_the_same_outputs(tmp_path):
    """A file as the release's PyTorch 0.4.1 wrote it: the legacy (pre-zip) format, the
    expanded tensors saved as views of one value."""
    state = release_file(release_layout(3, 32, 4), seed=3)
    state['eta12'] = torch.tensor([0.3]).expand(2, 1)
    state['w_z_f'] = torch.randn(1, 1, 3, 3).expand(4, 3, -1, -1)
    src = tmp_path / 'model_best.pt'
    torch.save(state, src, _use_new_zipfile_serialization=False)
    arch = dict(type='RCDNet', stages=3, num_Z=4)
    converted = load_official_checkpoint(src, 'rcdnet', arch=arch)
    model = MODELS.build(arch).eval()
    model.load_state_dict(converted)
    reference = MODELS.build(arch).eval()
    reference.load_state_dict({k: state[k][1] if k == 'conv' else state[k] for k in converted})
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)


def test_another_variant_is_refused_naming_the_options_to_pass(tmp_path):
    src = tmp_path / 'model_best.pt'
    torch.save(release_file(release_layout(4, 32, 32)), src)
    with pytest.raises(CheckpointConversionError) as err:
        load_official_checkpoint(src, 'rcdnet')  # default arch: 17 stages
    message = str(err.value)
    assert 'does not fit RCDNet: ' in message and 'missing keys (first: x_stage.4.' in message
    assert 'eta11: checkpoint (3, 1) vs model (16, 1)' in message
    assert ("The file holds dict(type='RCDNet', stages=4, num_M=32, num_Z=32, num_blocks=4, "
            "kernel_size=9): pass a config whose model.arch is that (--check-config CONFIG)") in message
    assert len(load_official_checkpoint(src, 'rcdnet', arch=dict(type='RCDNet', stages=4))) == \
        len(restorelab_layout(4))


def test_another_model_is_refused(tmp_path):
    src = tmp_path / 'net_latest.pth'
    torch.save(MODELS.build(dict(type='PReNet')).state_dict(), src)
    with pytest.raises(CheckpointConversionError,
                       match=r"not an RCDNet checkpoint \(converter 'rcdnet'\): it lacks weight0, conv, "
                             r'eta2, eta11, eta12 \.\.\. \(first keys of the file: conv0.0.weight'):
        load_official_checkpoint(src, 'rcdnet')
