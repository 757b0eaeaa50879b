"""SPDNet: official key layout, exact parameter counts, the Haar transforms, the blocks and
the three RCP-guided iterations written out with F.* ops, any-size inputs, the converter."""
import math
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.spdnet import haar_dwt, haar_idwt, residue_channel
from restorelab.models.converters import (CheckpointConversionError, check_state_dict_fits,
                                          get_converter, load_official_checkpoint)
from restorelab.registry import MODELS

pytestmark = pytest.mark.usefixtures('single_thread')

# ---------------------------------------------------------------- the release's key layout
# Joyies/SPDNet src/model/spdnet.py (class Rainnet) in state_dict order, written out per module.


def conv(name, c_in, c_out, k=3):
    return [(f'{name}.weight', (c_out, c_in, k, k)), (f'{name}.bias', (c_out,))]


def convd(name, c_in, c_out, release):
    """``convd``: reflection pad + conv (+ the release's unused affine InstanceNorm2d)."""
    norm = [(f'{name}.ins.weight', (c_out,)), (f'{name}.ins.bias', (c_out,))] if release else []
    return conv(f'{name}.conv', c_in, c_out) + norm


def rb(name, n):
    return (conv(f'{name}.module_body.0', n, n) + conv(f'{name}.module_body.2', n, n)
            + [(f'{name}.se.fc.0.weight', (n, n)), (f'{name}.se.fc.2.weight', (n, n))])


def rir(name, n, blocks):
    return ([k for i in range(blocks) for k in rb(f'{name}.module_body.{i}', n)]
            + conv(f'{name}.module_body.{blocks}', n, n))


def upsample(name, n):  # ConvTranspose2d weights are (in, out, k, k)
    return [(f'{name}.conv2d.weight', (n, n, 3, 3)), (f'{name}.conv2d.bias', (n,))]


def res_ch(name, n, blocks, release):
    return (convd(f'{name}.conv_init1', 3, n // 2, release)
            + convd(f'{name}.conv_init2', n // 2, n, release) + rir(f'{name}.extra', n, blocks))


def fuse(name, n, release):
    unused_conv = convd(f'{name}.conv', n, n, True) if release else []
    return upsample(f'{name}.up', n) + unused_conv + rb(f'{name}.rb', n)


WAVELET_BUFFERS = [('DWT.h0_col', (1, 1, 2, 1)), ('DWT.h1_col', (1, 1, 2, 1)),
                   ('DWT.h0_row', (1, 1, 1, 2)), ('DWT.h1_row', (1, 1, 1, 2)),
                   ('IDWT.g0_col', (1, 1, 2, 1)), ('IDWT.g1_col', (1, 1, 2, 1)),
                   ('IDWT.g0_row', (1, 1, 1, 2)), ('IDWT.g1_row', (1, 1, 1, 2))]


def subnet(name, n, blocks, release):
    keys = [(f'{name}.{k}', s) for k, s in WAVELET_BUFFERS] if release else []
    keys += (convd(f'{name}.DWT_2', 4 * n, n, release) + convd(f'{name}.DWT_3', 4 * n, n, release)
             + convd(f'{name}.IDWT_2', n, 4 * n, release) + convd(f'{name}.IDWT_3', n, 4 * n, release)
             + conv(f'{name}.prior.query_conv', n, n) + conv(f'{name}.prior.key_conv', n, n)
             + conv(f'{name}.prior.gamma1', 2 * n, 2) + conv(f'{name}.prior.gamma2', 2 * n, 2)
             + convd(f'{name}.fuse_res', 2 * n, n, release))
    # Per level: three residual groups, with the release's unused resampling layers between.
    unused = {(1, 1): ['d'], (1, 2): ['d'], (1, 3): ['down2'], (2, 1): ['u', 'd'], (2, 2): ['u', 'd'],
              (2, 3): ['down3'], (3, 1): ['u'], (3, 2): ['u'], (3, 3): []}
    for level in (1, 2, 3):
        for k in (1, 2, 3):
            keys += rir(f'{name}.branch{level}_{k}', n, blocks)
            for layer in unused[level, k] if release else []:
                if layer == 'u':
                    keys += upsample(f'{name}.branch{level}_{k}_u', n)
                elif layer == 'd':
                    keys += convd(f'{name}.branch{level}_{k}_d', n, n, True)
                else:
                    keys += convd(f'{name}.{layer}', n, n, True)
    return keys + fuse(f'{name}.fuse12', n, release) + fuse(f'{name}.fuse23', n, release)


def spdnet_layout(n=32, blocks=3, release=True):
    keys = convd('conv_init1', 3, n // 2, release) + convd('conv_init2', n // 2, n, release)
    for t in (1, 2, 3):
        keys += res_ch(f'res_extra{t}', n, blocks, release) + subnet(f'sub{t}', n, blocks, release)
    keys += (convd('ag1', 2 * n, n, release) + convd('ag2', 3 * n, n, release)
             + convd('ag2_en', 2 * n, n, release) + convd('ag_en', 3 * n, n, release))
    return keys + [k for t in (1, 2, 3) for k in conv(f'output{t}', n, 3)]


def numel(layout):
    return sum(torch.Size(shape).numel() for _, shape in layout)


def haar_filter(key):
    band = int(key.split('.')[-1][1])  # h0_col -> 0, g1_row -> 1
    shape = dict(WAVELET_BUFFERS)[key.split('.', 1)[1]]
    return (torch.tensor([1.0, -1.0 if band else 1.0]) / math.sqrt(2)).reshape(shape)


def release_file(layout, seed=0):
    """A state dict shaped like the release's model_best.pt: random values, Haar filters."""
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((k, haar_filter(k) if '.DWT.' in k or '.IDWT.' in k
                        else torch.randn(shape, generator=gen)) for k, shape in layout)


def test_release_layout_counts():
    """The release's Rainnet(n_feats=32, n_resblocks=3): 930 state_dict entries, 3,318,741
    parameters (pytorch_wavelets >= 1.2 keeps the 48 filter values as buffers), of which
    337,216 (InstanceNorms, Fuse.conv, down/up-sampling layers) its forward never uses."""
    release = spdnet_layout()
    buffers = [k for k, _ in release if '.DWT.' in k or '.IDWT.' in k]
    assert len(release) == 930 and len(buffers) == 24
    assert numel(release) - 48 == 3_318_741
    assert numel(spdnet_layout(release=False)) == 2_981_525 == 3_318_741 - 337_216


@pytest.mark.parametrize('n, blocks', [(32, 3), (4, 1)])
def test_layout_and_parameter_count(n, blocks):
    model = MODELS.build(dict(type='SPDNet', n_feats=n, n_resblocks=blocks))
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        spdnet_layout(n, blocks, release=False)
    if (n, blocks) == (32, 3):
        assert count_parameters(model) == 2_981_525
        assert model.size_multiple == 1 and model.rgb_range == 255.0


# ---------------------------------------------------------------- the converter
def test_converter_drops_the_unused_modules_and_the_haar_filters():
    state = release_file(spdnet_layout(32, 1))
    converted = get_converter('spdnet')(state)
    assert [(k, tuple(v.shape)) for k, v in converted.items()] == spdnet_layout(32, 1, release=False)
    assert all(converted[k] is state[k] for k in converted)
    model = MODELS.build(dict(type='SPDNet', n_resblocks=1))
    check_state_dict_fits(converted, model)


def test_converted_file_loads_into_the_restorer(tmp_path):
    """Release file -> tools/convert_checkpoint.py's conversion -> mmengine's loading into an
    ImageRestorer: the same output as the arch given the release's tensors directly."""
    from mmengine.runner import load_checkpoint
    from restorelab.models.converters import convert_official_checkpoint
    arch = dict(type='SPDNet', n_resblocks=1)
    state = OrderedDict((k, v if 'DWT.' in k else 0.02 * v)  # finite estimates
                        for k, v in release_file(spdnet_layout(32, 1), seed=1).items())
    torch.save(state, tmp_path / 'model_best.pt')
    meta = convert_official_checkpoint('spdnet', tmp_path / 'model_best.pt', tmp_path / 'out.pth', arch=arch)
    assert meta['num_params'] == numel(spdnet_layout(32, 1, release=False))
    restorer = MODELS.build(dict(type='ImageRestorer', arch=arch, pixel_loss=None)).eval()
    load_checkpoint(restorer, str(tmp_path / 'out.pth'), map_location='cpu', strict=True)
    reference = MODELS.build(arch).eval()
    reference.load_state_dict(get_converter('spdnet')(state))
    x = torch.rand(1, 3, 9, 6)
    with torch.no_grad():
        out = restorer(x, mode='tensor')
        assert torch.isfinite(out).all() and torch.equal(out, reference(x))


def test_converter_refuses_other_wavelets_and_names_the_variant(tmp_path):
    state = release_file(spdnet_layout(32, 1))
    path = tmp_path / 'model_best.pt'
    torch.save(state, path)
    # The default SPDNet has 3 blocks per group: the file's variant and what to pass are named.
    with pytest.raises(CheckpointConversionError) as info:
        load_official_checkpoint(path, 'spdnet')
    msg = str(info.value)
    assert 'does not fit SPDNet' in msg and 'missing keys (first: res_extra1.extra.module_body.1' in msg
    assert ("The file holds dict(type='SPDNet', n_feats=32, n_resblocks=1): pass a config whose "
            "model.arch is that") in msg
    assert load_official_checkpoint(path, 'spdnet', arch=dict(type='SPDNet', n_resblocks=1))
    # Another wavelet's filters (Daubechies-2 has four taps) are not SPDNet's.
    state['sub2.DWT.h1_row'] = torch.tensor([[[[-0.48, 0.84, -0.22, -0.13]]]])
    with pytest.raises(CheckpointConversionError,
                       match=r"sub2\.DWT\.h1_row is \[-0\.48.*not the Haar filter \[0\.7071"):
        get_converter('spdnet')(state)
    # Another model's file.
    torch.save(MODELS.build(dict(type='BRN')).state_dict(), path)
    with pytest.raises(CheckpointConversionError, match='does not fit SPDNet.*Is it a checkpoint of this model'):
        load_official_checkpoint(path, 'spdnet')


# ---------------------------------------------------------------- the Haar transforms
HAAR_KERNELS = 0.5 * torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [-1.0, -1.0]],
                                   [[1.0, -1.0], [1.0, -1.0]], [[1.0, -1.0], [-1.0, 1.0]]],
                                  dtype=torch.float64)  # ll, lh, hl, hh on each 2x2 block


def test_haar_dwt_on_one_block_and_as_a_strided_convolution():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    assert [float(b) for b in haar_dwt(x)] == [5.0, -2.0, -1.0, 0.0]
    x = torch.rand(2, 3, 6, 10, dtype=torch.float64)
    kernels = HAAR_KERNELS[:, None].repeat(3, 1, 1, 1)  # (12, 1, 2, 2), grouped per channel
    bands = F.conv2d(x, kernels, stride=2, groups=3).reshape(2, 3, 4, 3, 5)
    for k, band in enumerate(haar_dwt(x)):
        torch.testing.assert_close(band, bands[:, :, k], rtol=0, atol=1e-15)
    # Orthonormal: energy is kept, and the inverse is the transposed convolution.
    assert torch.isclose(sum((b ** 2).sum() for b in haar_dwt(x)), (x ** 2).sum(), rtol=1e-14)
    inverse = F.conv_transpose2d(bands.reshape(2, 12, 3, 5), kernels, stride=2, groups=3)
    torch.testing.assert_close(haar_idwt(*haar_dwt(x)), x, rtol=0, atol=1e-15)
    torch.testing.assert_close(inverse, x, rtol=0, atol=1e-15)


def test_haar_dwt_zero_pads_odd_sides():
    x = torch.rand(1, 2, 7, 5, dtype=torch.float64)
    padded = torch.zeros(1, 2, 8, 6, dtype=torch.float64)
    padded[..., :7, :5] = x
    for odd, even in zip(haar_dwt(x), haar_dwt(padded)):
        assert odd.shape == (1, 2, 4, 3)
        torch.testing.assert_close(odd, even, rtol=0, atol=0)


def test_wmlm_band_layouts():
    """DWT_k reads the bands band by band ([lh, hl, hh, ll]); IDWT_k writes them feature by
    feature (channel 4c + k, ll first), as the release's _transformer / _Itransformer."""
    from restorelab.models.archs.spdnet import WMLM
    x = torch.rand(1, 2, 4, 6, dtype=torch.float64)
    ll, lh, hl, hh = haar_dwt(x)
    assert torch.equal(WMLM.wavelet_bands(x), torch.cat((lh, hl, hh, ll), 1))
    interleaved = torch.stack((ll, lh, hl, hh), dim=2).reshape(1, 8, 2, 3)
    torch.testing.assert_close(WMLM.inverse_wavelet(interleaved), x, rtol=0, atol=1e-15)


def test_residue_channel_is_max_minus_min_over_colours():
    img = torch.tensor([0.2, 0.9, 0.5, 0.4, 0.4, 0.4]).reshape(1, 3, 1, 2)
    # pixel 0: (0.2, 0.5, 0.4) -> 0.3; pixel 1: (0.9, 0.4, 0.4) -> 0.5
    torch.testing.assert_close(residue_channel(img), torch.tensor([[[[0.3, 0.5]]]]))


# ---------------------------------------------------------------- the blocks written out
def convd_ref(module, x):
    return F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode='reflect'), module.conv.weight, module.conv.bias))


def conv_ref(module, x):
    return F.conv2d(x, module.weight, module.bias, padding=1)


def rb_ref(block, x):
    body = F.relu(conv_ref(block.module_body[2], F.relu(conv_ref(block.module_body[0], x))))
    squeeze = body.mean(dim=(2, 3))
    excite = torch.sigmoid(F.linear(F.relu(F.linear(squeeze, block.se.fc[0].weight)), block.se.fc[2].weight))
    return body * excite[:, :, None, None] + x


def rir_ref(group, x):
    feat = x
    for block in list(group.module_body)[:-1]:
        feat = rb_ref(block, feat)
    return F.relu(conv_ref(group.module_body[-1], feat) + x)


def ifm_ref(ifm, x, p):
    attention = torch.sigmoid(conv_ref(ifm.query_conv, x) * conv_ref(ifm.key_conv, p))
    g = conv_ref(ifm.gamma1, torch.cat((x, x * attention), 1))
    h = conv_ref(ifm.gamma2, torch.cat((p, p * attention), 1))
    return x * g[:, :1] + x * attention * g[:, 1:], p * h[:, :1] + p * attention * h[:, 1:]


def fuse_ref(fuse, coarse, fine):
    up = F.relu(F.conv_transpose2d(F.pad(coarse, (1, 1, 1, 1), mode='reflect'),
                                   fuse.up.conv2d.weight, fuse.up.conv2d.bias, stride=2))
    up = F.interpolate(up, size=fine.shape[-2:], mode='nearest')
    return F.relu(rb_ref(fuse.rb, up + fine))


def dwt_ref(x):
    """The DWT as pytorch_wavelets computes it for 'haar', mode 'zero': zero-pad odd sides,
    then the grouped strided convolution with the four 2x2 Haar kernels."""
    x = F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
    c = x.shape[1]
    bands = F.conv2d(x, HAAR_KERNELS[:, None].repeat(c, 1, 1, 1).to(x.dtype), stride=2, groups=c)
    bands = bands.reshape(x.shape[0], c, 4, *bands.shape[-2:])  # ll, lh, hl, hh per channel
    return torch.cat([bands[:, :, k] for k in (1, 2, 3, 0)], 1)  # the release's _transformer


def idwt_ref(y):
    c = y.shape[1] // 4  # channel 4c + k is band k of feature c: the kernels' own grouping
    return F.conv_transpose2d(y, HAAR_KERNELS[:, None].repeat(c, 1, 1, 1).to(y.dtype), stride=2, groups=c)


def wmlm_ref(sub, x, p):
    x, p = ifm_ref(sub.prior, x, p)
    x1 = convd_ref(sub.fuse_res, torch.cat((x, p), 1))
    x2 = convd_ref(sub.DWT_2, dwt_ref(x1))
    x3 = convd_ref(sub.DWT_3, dwt_ref(x2))
    for k in (1, 2, 3):
        x1 = rir_ref(getattr(sub, f'branch1_{k}'), x1)
        x2 = rir_ref(getattr(sub, f'branch2_{k}'), x2)
        x3 = rir_ref(getattr(sub, f'branch3_{k}'), x3)
    x2 = fuse_ref(sub.fuse23, idwt_ref(convd_ref(sub.IDWT_3, x3)), x2)
    return fuse_ref(sub.fuse12, idwt_ref(convd_ref(sub.IDWT_2, x2)), x1)


def rcp_features_ref(enc, img):
    rcp = img.amax(1, keepdim=True) - img.amin(1, keepdim=True)
    return rir_ref(enc.extra, convd_ref(enc.conv_init2, convd_ref(enc.conv_init1, rcp.repeat(1, 3, 1, 1))))


def spdnet_ref(model, img):
    """The three RCP-guided iterations (module docstring) on pixels in [0, rgb_range]."""
    y = img * model.rgb_range
    f0 = convd_ref(model.conv_init2, convd_ref(model.conv_init1, y))
    x1 = wmlm_ref(model.sub1, f0, rcp_features_ref(model.res_extra1, y))
    b1 = conv_ref(model.output1, x1)
    x2 = wmlm_ref(model.sub2, convd_ref(model.ag1, torch.cat((x1, f0), 1)),
                  rcp_features_ref(model.res_extra2, b1))
    b2 = conv_ref(model.output2, convd_ref(model.ag2_en, torch.cat((x2, x1), 1)))
    x3 = wmlm_ref(model.sub3, convd_ref(model.ag2, torch.cat((x2, x1, f0), 1)),
                  rcp_features_ref(model.res_extra3, b2))
    b3 = conv_ref(model.output3, convd_ref(model.ag_en, torch.cat((x3, x2, x1), 1)))
    return [b / model.rgb_range for b in (b1, b2, b3)]


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return MODELS.build(dict(type='SPDNet', n_feats=4, n_resblocks=1)).double().eval()


def test_blocks_are_the_release_maths(tiny):
    sub = tiny.sub1
    x, p = (torch.randn(2, 4, 6, 5, dtype=torch.float64) for _ in range(2))
    with torch.no_grad():
        for got, want in zip(sub.prior(x, p), ifm_ref(sub.prior, x, p)):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
        torch.testing.assert_close(sub.branch2_1(x), rir_ref(sub.branch2_1, x), rtol=0, atol=1e-12)
        coarse = torch.randn(2, 4, 6, 6, dtype=torch.float64)  # an inverse DWT's size: resampled
        torch.testing.assert_close(sub.fuse12(coarse, x), fuse_ref(sub.fuse12, coarse, x),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize('size', [(8, 12), (7, 10)])  # the odd side pads the DWTs
def test_forward_is_the_three_rcp_guided_iterations(tiny, size):
    img = torch.rand(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        stages, reference = tiny.forward_stages(img), spdnet_ref(tiny, img)
        final = tiny(img)
    assert len(stages) == 3
    for got, want in zip(stages, reference):
        assert want.abs().max() > 0.01  # a non-trivial estimate
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    assert torch.equal(final, stages[-1])


def test_later_iterations_read_the_rcp_of_the_previous_estimate(tiny):
    """Changing output1 (the first estimate) changes the second iteration's RCP input: the
    second estimate moves although output1 is not on its direct path."""
    model = MODELS.build(dict(type='SPDNet', n_feats=4, n_resblocks=1)).double().eval()
    model.load_state_dict(tiny.state_dict())
    img = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        before = model.forward_stages(img)
        model.output1.bias.add_(0.05 * torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64))
        after = model.forward_stages(img)
    assert (after[1] - before[1]).abs().max() > 1e-6


@pytest.mark.parametrize('size', [(5, 5), (9, 14), (16, 11)])
def test_any_size_keeps_shape(size):
    model = MODELS.build(dict(type='SPDNet', n_feats=4, n_resblocks=1)).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, *size)).shape == (2, 3, *size)


def test_bad_arguments():
    with pytest.raises(ValueError, match='n_feats must be an even int >= 2, got 5'):
        MODELS.build(dict(type='SPDNet', n_feats=5))
    with pytest.raises(ValueError, match='n_resblocks must be an int >= 0, got -1'):
        MODELS.build(dict(type='SPDNet', n_resblocks=-1))
    with pytest.raises(ValueError, match='rgb_range must be > 0, got 0'):
        MODELS.build(dict(type='SPDNet', rgb_range=0))
