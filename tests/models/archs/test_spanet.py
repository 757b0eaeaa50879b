"""SPANet: the release's key layout and parameter count, the IRNN against a per-pixel loop of
the release's kernel and closed forms, the SAM and the network written out with F.* ops, the
direction attention the release discards, and the converter's colour reversal and refusals."""
import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.spanet import DIRECTIONS, directional_recurrence
from restorelab.models.converters import (CheckpointConversionError, get_converter,
                                         load_official_checkpoint, unwrap_state_dict)
from restorelab.registry import MODELS

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors; a shared CPU

TINY = dict(type='SPANet', channels=4, num_head_blocks=1, num_attentive_stages=2,
            blocks_per_stage=1, num_tail_blocks=1)


def conv(name, c_in, c_out, k=3, bias=False):
    return [(f'{name}.weight', (c_out, c_in, k, k))] + ([(f'{name}.bias', (c_out,))] if bias else [])


def irnn(name, c):
    return [key for d in ('left', 'right', 'up', 'down')
            for key in conv(f'{name}.{d}_weight', 1, c, k=1, bias=True)]


def bottleneck(name, c):
    return (conv(f'{name}.group1.conv1', c, c, k=1) + conv(f'{name}.group1.conv2', c, c)
            + conv(f'{name}.group1.conv3', c, c, k=1))


# stevewongv/SPANet SPANet.py with 4 channels and 4 residual blocks (the release hard-codes 32
# channels and 17 blocks; its keys and their order are these): conv_in, SAM1 (irnn1, irnn2,
# conv_in, conv2, conv3, attention_layer, conv_out), res_block1.., conv_out.
RELEASE_C4_4_BLOCKS = (
    conv('conv_in.0', 3, 4)
    + irnn('SAM1.irnn1', 4) + irnn('SAM1.irnn2', 4)
    + conv('SAM1.conv_in', 4, 4) + conv('SAM1.conv2', 16, 4) + conv('SAM1.conv3', 16, 4)
    + conv('SAM1.attention_layer.conv1', 4, 2, bias=True)
    + conv('SAM1.attention_layer.conv2', 2, 2, bias=True)
    + conv('SAM1.attention_layer.conv3', 2, 4, k=1, bias=True)
    + conv('SAM1.conv_out', 4, 1, k=1)
    + [k for i in range(1, 5) for k in bottleneck(f'res_block{i}', 4)]
    + conv('conv_out.0', 4, 3))
# sum(p.numel() for p in SPANet().parameters()) of the release (and the values in its
# model/latest: 79 tensors).
RELEASE_PARAMS = 283_716


def layout(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def randomised(model, seed=0):
    """Weights ~ N(0, 0.3^2); IRNN weights from U(-0.9, 0.9) (both signs, bounded by 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('_weight.weight'):
                p.copy_((torch.rand(p.shape, generator=gen, dtype=p.dtype) - 0.5) * 1.8)
            else:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)
    return model


def test_release_key_layout_and_parameter_count():
    assert layout(MODELS.build(TINY)) == RELEASE_C4_4_BLOCKS
    model = MODELS.build(dict(type='SPANet'))
    assert count_parameters(model) == RELEASE_PARAMS and len(model.state_dict()) == 79
    assert [k for k in model.state_dict() if k.startswith('res_block')][-1] == \
        'res_block17.group1.conv3.weight'
    assert model.size_multiple == 1 and model.direction_attention is False
    irnn_weights = model.SAM1.irnn1.up_weight.weight
    assert irnn_weights.shape == (32, 1, 1, 1) and torch.all(irnn_weights == 0.2)


def test_bad_arguments_are_named():
    for kwargs, words in ((dict(channels=5), 'channels must be even'),
                          (dict(num_head_blocks=-1), 'num_head_blocks must be an int >= 0'),
                          (dict(channels=1), 'channels must be an int >= 2')):
        with pytest.raises(ValueError, match=words):
            MODELS.build(dict(type='SPANet', **kwargs))


# ------------------------------------------------------------------------------------------
# The IRNN.

def kernel_loop(x, weight, bias, direction):
    """IRNN_Forward_cuda.cu for one direction, one output pixel at a time: the recurrence run
    from the image border to the pixel (``out = relu(x[border])``, then
    ``out = relu(out * w + b + x[i])``)."""
    n, c, height, width = x.shape
    out = torch.empty_like(x)
    for b in range(n):
        for ch in range(c):
            w, bb = float(weight[ch]), float(bias[ch])
            for h in range(height):
                for col in range(width):
                    if direction == 'right':
                        line, start, stop, step = x[b, ch, h], 0, col, 1
                    elif direction == 'left':
                        line, start, stop, step = x[b, ch, h], width - 1, col, -1
                    elif direction == 'down':
                        line, start, stop, step = x[b, ch, :, col], 0, h, 1
                    else:
                        line, start, stop, step = x[b, ch, :, col], height - 1, h, -1
                    v = max(float(line[start]), 0.0)
                    for i in range(start + step, stop + step, step):
                        v = max(v * w + bb + float(line[i]), 0.0)
                    out[b, ch, h, col] = v
    return out


@pytest.mark.parametrize('direction', DIRECTIONS)
def test_recurrence_is_the_kernel_per_pixel(direction):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 5, 7, generator=gen, dtype=torch.float64)
    weight = torch.tensor([-0.7, 0.4, 0.95], dtype=torch.float64)
    bias = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    got = directional_recurrence(x, weight.view(3, 1, 1, 1), bias, direction)
    torch.testing.assert_close(got, kernel_loop(x, weight, bias, direction), rtol=0, atol=1e-12)


def test_recurrence_closed_forms():
    x = torch.rand(1, 2, 4, 6, dtype=torch.float64)  # non-negative
    one, zero = torch.ones(2, 1, 1, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    # weight 1, bias 0 on non-negative inputs: running sums from the sweep's starting border.
    torch.testing.assert_close(directional_recurrence(x, one, zero, 'right'), x.cumsum(3))
    torch.testing.assert_close(directional_recurrence(x, one, zero, 'down'), x.cumsum(2))
    torch.testing.assert_close(directional_recurrence(x, one, zero, 'left'),
                               x.flip(3).cumsum(3).flip(3))
    torch.testing.assert_close(directional_recurrence(x, one, zero, 'up'),
                               x.flip(2).cumsum(2).flip(2))
    # weight 0: every pixel is relu(x + b) except the first of the sweep, relu(x) (no bias).
    signed = torch.randn(1, 2, 4, 6, dtype=torch.float64)
    bias = torch.tensor([0.5, -0.5], dtype=torch.float64)
    got = directional_recurrence(signed, 0 * one, bias, 'right')
    torch.testing.assert_close(got[..., 1:], F.relu(signed[..., 1:] + bias.view(1, 2, 1, 1)))
    torch.testing.assert_close(got[..., 0], F.relu(signed[..., 0]))


def test_recurrence_gradient_is_autograd_of_the_maths():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 2, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.5, -0.6], dtype=torch.float64).view(2, 1, 1, 1).requires_grad_()
    b = torch.tensor([0.2, 0.3], dtype=torch.float64, requires_grad=True)
    for direction in DIRECTIONS:
        assert torch.autograd.gradcheck(
            lambda x, w, b: directional_recurrence(x, w, b, direction), (x, w, b))


# ------------------------------------------------------------------------------------------
# The SAM and the network, written out with F.* ops on the model's weights (float64).

def c2d(module, x):
    return F.conv2d(x, module.weight, module.bias, padding=module.padding,
                    dilation=module.dilation)


def reference_irnn(irnn, x):
    maps = []
    for d in DIRECTIONS:
        holder = getattr(irnn, f'{d}_weight')
        maps.append(kernel_loop(x, holder.weight.flatten(), holder.bias, d))
    return maps


def reference_sam(sam, x, direction_attention):
    att = sam.attention_layer
    weights = torch.sigmoid(c2d(att.conv3, F.relu(c2d(att.conv2, F.relu(c2d(att.conv1, x))))))

    def weighted(maps):
        if direction_attention:
            maps = [m * weights[:, i:i + 1] for i, m in enumerate(maps)]
        return torch.cat(maps, 1)

    out = c2d(sam.conv2, weighted(reference_irnn(sam.irnn1, c2d(sam.conv_in, x))))
    out = F.relu(c2d(sam.conv3, weighted(reference_irnn(sam.irnn2, out))))
    return torch.sigmoid(c2d(sam.conv_out, out))


def reference_spanet(model, x, direction_attention=False):
    def block(i, f):
        g = model.res_block(i).group1
        return c2d(g.conv3, F.relu(c2d(g.conv2, F.relu(c2d(g.conv1, f)))))

    f = F.relu(c2d(model.conv_in[0], x))
    i = 1
    for _ in range(model.num_head_blocks):
        f, i = F.relu(block(i, f) + f), i + 1
    first = None
    for _ in range(model.num_attentive_stages):
        a = reference_sam(model.SAM1, f, direction_attention)
        first = a if first is None else first
        for _ in range(model.blocks_per_stage):
            f, i = F.relu(block(i, f) * a + f), i + 1
    for _ in range(model.num_tail_blocks):
        f, i = F.relu(block(i, f) + f), i + 1
    return c2d(model.conv_out[0], f), first


@pytest.mark.parametrize('direction_attention', [False, True])
def test_forward_is_the_network_written_out(direction_attention):
    model = randomised(MODELS.build(dict(TINY, direction_attention=direction_attention)).double())
    x = torch.rand(1, 3, 5, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with torch.no_grad():
        out, attention = model.forward_with_attention(x)
        want_out, want_attention = reference_spanet(model, x, direction_attention)
        torch.testing.assert_close(model(x), out, rtol=0, atol=0)
    torch.testing.assert_close(out, want_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(attention, want_attention, rtol=0, atol=1e-12)
    assert attention.shape == (1, 1, 5, 6)


def test_the_release_discards_the_direction_attention():
    """With direction_attention False (the release) the attention layer's weights change
    nothing; with True they do."""
    x = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    for enabled in (False, True):
        model = randomised(MODELS.build(dict(TINY, direction_attention=enabled)).double())
        with torch.no_grad():
            before = model(x)
            model.SAM1.attention_layer.conv3.bias.add_(3.0)
            after = model(x)
        assert torch.equal(before, after) is (not enabled)


def test_any_size_keeps_the_shape():
    model = MODELS.build(TINY).eval()
    for h, w in ((1, 1), (7, 11), (12, 5)):
        x = torch.rand(2, 3, h, w)
        with torch.no_grad():
            assert model(x).shape == x.shape


# ------------------------------------------------------------------------------------------
# The converter.

def release_file(path, arch, seed=0, module_prefix=False):
    """A file saved as the release's main.py saves one: {'net', 'clock', 'opt'}."""
    model = randomised(MODELS.build(dict(arch)), seed)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    net = {('module.' if module_prefix else '') + k: v for k, v in model.state_dict().items()}
    torch.save({'net': net, 'clock': 40000, 'opt': opt.state_dict()}, path)
    return model


@pytest.mark.parametrize('module_prefix', [False, True])
def test_converter_reverses_the_colour_channels_only(tmp_path, module_prefix):
    src = tmp_path / 'latest'
    bgr_model = release_file(src, TINY, module_prefix=module_prefix).eval()
    state, wrapper = unwrap_state_dict(torch.load(src, weights_only=True))
    assert wrapper == 'net' and not any(k.startswith('module.') for k in state)
    converted = get_converter('spanet')(state)
    assert {k for k in state if not torch.equal(state[k], converted[k])} == {
        'conv_in.0.weight', 'conv_out.0.weight'}
    torch.testing.assert_close(converted['conv_in.0.weight'], state['conv_in.0.weight'][:, [2, 1, 0]])
    torch.testing.assert_close(converted['conv_out.0.weight'], state['conv_out.0.weight'][[2, 1, 0]])
    rgb_model = MODELS.build(TINY).eval()
    rgb_model.load_state_dict(load_official_checkpoint(src, 'spanet', arch=rgb_model))
    x = torch.rand(1, 3, 6, 7, dtype=torch.float64)
    rgb_model.double(), bgr_model.double()
    with torch.no_grad():  # the RGB model on RGB = the BGR model on BGR, channels reversed
        torch.testing.assert_close(rgb_model(x), bgr_model(x.flip(1)).flip(1), rtol=0, atol=1e-12)


def test_another_width_is_refused_naming_the_config_it_fits(tmp_path):
    src = tmp_path / 'latest'
    release_file(src, dict(type='SPANet', channels=16))
    with pytest.raises(CheckpointConversionError) as err:
        load_official_checkpoint(src, 'spanet')  # the release's 32 channels
    message = str(err.value)
    assert 'does not fit SPANet' in message and 'shape mismatches' in message
    assert "The file holds dict(type='SPANet', channels=16)" in message
    assert '--check-config CONFIG' in message


def test_another_models_file_is_refused_naming_its_keys(tmp_path):
    src = tmp_path / 'latest'
    rescan = MODELS.build(dict(type='RESCAN', depth=4, channels=6))
    torch.save({'net': rescan.state_dict(), 'clock': 0}, src)
    with pytest.raises(CheckpointConversionError) as err:
        load_official_checkpoint(src, 'spanet')
    message = str(err.value)
    assert 'missing keys (first: conv_in.0.weight' in message
    assert 'unexpected keys (first: rnns.0.' in message and 'Is it a checkpoint of this model?' in message
