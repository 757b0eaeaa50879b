"""MPRNet: the release's key layout, exact parameter counts, the blocks' maths, the multi-patch
hierarchy, any-size input through the restorer, the converter and its refusals."""
import importlib.util
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.mprnet import CAB, ORB, RELEASE_VARIANTS, SAM, DownSample, MPRNet, UpSample
from restorelab.models.converters import (CheckpointConversionError, get_converter, load_official_checkpoint,
                                          unwrap_state_dict)
from restorelab.models.restorers import ImageRestorer
from restorelab.registry import MODELS
from restorelab.testing import randomise

pytestmark = pytest.mark.usefixtures('single_thread')

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / 'configs' / 'mprnet' / 'mprnet_rain13k.py'

# A small configuration: every kind of key, few values.
TINY = dict(n_feat=8, scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1, kernel_size=3, reduction=4)


# ------------------------------------------------ the release's layout (swz30/MPRNet MPRNet.py)

def conv_keys(name, c_in, c_out, k, bias):
    return [(f'{name}.weight', (c_out, c_in, k, k))] + ([(f'{name}.bias', (c_out,))] if bias else [])


def cab_keys(name, c, k, r, bias):
    """CAB: its CALayer is built before its body (conv, the shared PReLU, conv)."""
    return (conv_keys(f'{name}.CA.conv_du.0', c, c // r, 1, bias)
            + conv_keys(f'{name}.CA.conv_du.2', c // r, c, 1, bias)
            + conv_keys(f'{name}.body.0', c, c, k, bias) + [(f'{name}.body.1.weight', (1,))]
            + conv_keys(f'{name}.body.2', c, c, k, bias))


def encoder_keys(name, n, s, k, r, bias, csff):
    widths = [n, n + s, n + 2 * s]
    keys = [key for level, c in enumerate(widths, 1) for i in range(2)
            for key in cab_keys(f'{name}.encoder_level{level}.{i}', c, k, r, bias)]
    keys += conv_keys(f'{name}.down12.down.1', n, n + s, 1, False)
    keys += conv_keys(f'{name}.down23.down.1', n + s, n + 2 * s, 1, False)
    if csff:
        keys += [key for kind in ('enc', 'dec') for level, c in enumerate(widths, 1)
                 for key in conv_keys(f'{name}.csff_{kind}{level}', c, c, 1, bias)]
    return keys


def decoder_keys(name, n, s, k, r, bias):
    widths = [n, n + s, n + 2 * s]
    keys = [key for level, c in enumerate(widths, 1) for i in range(2)
            for key in cab_keys(f'{name}.decoder_level{level}.{i}', c, k, r, bias)]
    keys += cab_keys(f'{name}.skip_attn1', n, k, r, bias) + cab_keys(f'{name}.skip_attn2', n + s, k, r, bias)
    keys += conv_keys(f'{name}.up21.up.1', n + s, n, 1, False)
    keys += conv_keys(f'{name}.up32.up.1', n + 2 * s, n + s, 1, False)
    return keys


def orsnet_keys(name, n, s, so, num_cab, k, r, bias):
    w = n + so
    keys = []
    for orb in (1, 2, 3):
        keys += [key for i in range(num_cab) for key in cab_keys(f'{name}.orb{orb}.body.{i}', w, k, r, bias)]
        keys += conv_keys(f'{name}.orb{orb}.body.{num_cab}', w, w, k, False)
    keys += conv_keys(f'{name}.up_enc1.up.1', n + s, n, 1, False)
    keys += conv_keys(f'{name}.up_dec1.up.1', n + s, n, 1, False)
    for kind in ('enc', 'dec'):
        keys += (conv_keys(f'{name}.up_{kind}2.0.up.1', n + 2 * s, n + s, 1, False)
                 + conv_keys(f'{name}.up_{kind}2.1.up.1', n + s, n, 1, False))
    keys += [key for kind in ('enc', 'dec') for i in (1, 2, 3)
             for key in conv_keys(f'{name}.conv_{kind}{i}', n, w, 1, bias)]
    return keys


def release_keys(n_feat=40, scale_unetfeats=20, scale_orsnetfeats=16, num_cab=8, kernel_size=3, reduction=4,
                 bias=False):
    n, s, so, k, r = n_feat, scale_unetfeats, scale_orsnetfeats, kernel_size, reduction
    keys = [key for stage in (1, 2, 3)
            for key in (conv_keys(f'shallow_feat{stage}.0', 3, n, k, bias)
                        + cab_keys(f'shallow_feat{stage}.1', n, k, r, bias))]
    for stage, csff in ((1, False), (2, True)):
        keys += encoder_keys(f'stage{stage}_encoder', n, s, k, r, bias, csff=csff)
        keys += decoder_keys(f'stage{stage}_decoder', n, s, k, r, bias)
    keys += orsnet_keys('stage3_orsnet', n, s, so, num_cab, k, r, bias)
    for sam in ('sam12', 'sam23'):
        keys += (conv_keys(f'{sam}.conv1', n, n, 1, bias) + conv_keys(f'{sam}.conv2', n, 3, 1, bias)
                 + conv_keys(f'{sam}.conv3', 3, n, 1, bias))
    keys += conv_keys('concat12', 2 * n, n, k, bias) + conv_keys('concat23', 2 * n, n + so, k, bias)
    keys += conv_keys('tail', n + so, 3, k, bias)
    return keys


def layout(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def numel(keys):
    return sum(torch.Size(shape).numel() for _, shape in keys)


@pytest.mark.parametrize('options', [TINY, dict(TINY, bias=True, reduction=2, num_cab=2, kernel_size=5)])
def test_tiny_layout_is_the_releases(options):
    assert layout(MPRNet(**options)) == release_keys(**options)


def test_full_size_layout_and_parameter_counts():
    model = MPRNet()
    keys = release_keys()
    assert layout(model) == keys
    # 316 tensors and 3,637,303 values in a released file; the 55 copies of the one shared
    # PReLU slope count once among the parameters.
    prelu = [k for k, _ in keys if k.endswith('body.1.weight')]
    assert len(keys) == 316 and numel(keys) == 3_637_303 and len(prelu) == 55
    assert count_parameters(model) == 3_637_249 == numel(keys) - 54
    assert model.size_multiple == 8


@pytest.mark.parametrize('variant, params', [('deblurring', 20_127_073), ('denoising', 15_741_025)])
def test_other_release_variants_parameter_counts(variant, params):
    with torch.device('meta'):  # shapes only
        model = MPRNet(**RELEASE_VARIANTS[variant])
    assert count_parameters(model) == params
    assert layout(model) == release_keys(**RELEASE_VARIANTS[variant])


def test_one_prelu_is_shared_by_every_cab():
    model = MPRNet(**TINY)
    cabs = [m for m in model.modules() if isinstance(m, CAB)]
    assert len(cabs) == 3 + 4 * 6 + 2 * 2 + 3 * TINY['num_cab']
    assert len({id(cab.body[1]) for cab in cabs}) == 1 and isinstance(cabs[0].body[1], nn.PReLU)


# ------------------------------------------------ the blocks, written out with F.* (float64)


def rand(*shape, seed=1):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def ref_cab(cab, x):
    c1, act, c2 = cab.body
    res = F.conv2d(F.prelu(F.conv2d(x, c1.weight, c1.bias, padding=1), act.weight), c2.weight, c2.bias, padding=1)
    down, up = cab.CA.conv_du[0], cab.CA.conv_du[2]
    squeezed = res.mean(dim=(2, 3), keepdim=True)
    return res * torch.sigmoid(F.conv2d(F.relu(F.conv2d(squeezed, down.weight, down.bias)), up.weight, up.bias)) + x


def test_cab():
    cab = randomise(CAB(8, 3, 4, True, nn.PReLU()).double(), 0.3)
    x = rand(2, 8, 6, 10)
    torch.testing.assert_close(cab(x), ref_cab(cab, x), rtol=0, atol=1e-12)


def test_sam():
    sam = randomise(SAM(8, 1, True).double(), 0.3)
    x, img = rand(1, 8, 5, 7), rand(1, 3, 5, 7, seed=2)
    feats, out = sam(x, img)
    expected_img = F.conv2d(x, sam.conv2.weight, sam.conv2.bias) + img
    attention = torch.sigmoid(F.conv2d(expected_img, sam.conv3.weight, sam.conv3.bias))
    torch.testing.assert_close(out, expected_img, rtol=0, atol=1e-12)
    torch.testing.assert_close(feats, F.conv2d(x, sam.conv1.weight, sam.conv1.bias) * attention + x,
                               rtol=0, atol=1e-12)


def test_downsample_is_a_2x2_mean_then_a_1x1_conv():
    # Bilinear x0.5 with align_corners=False samples at 2i + 0.5: the mean of each 2x2 block.
    down = randomise(DownSample(6, 3).double(), 0.3)
    x = rand(1, 6, 8, 12)
    expected = F.conv2d(F.avg_pool2d(x, 2), down.down[1].weight)
    torch.testing.assert_close(down(x), expected, rtol=0, atol=1e-12)
    assert down(x).shape == (1, 9, 4, 6)


def bilinear_up2(x):
    """Bilinear x2, align_corners=False, per axis: output 2i takes 3/4 of x[i] and 1/4 of
    x[i-1], output 2i+1 3/4 of x[i] and 1/4 of x[i+1] (indices clamped at the borders)."""
    def axis(t, dim):
        n = t.shape[dim]
        prev = t.index_select(dim, torch.clamp(torch.arange(n) - 1, 0, n - 1))
        nxt = t.index_select(dim, torch.clamp(torch.arange(n) + 1, 0, n - 1))
        even, odd = 0.75 * t + 0.25 * prev, 0.75 * t + 0.25 * nxt
        return torch.stack((even, odd), dim=dim + 1).flatten(dim, dim + 1)
    return axis(axis(x, 2), 3)


def test_upsample_with_and_without_skip():
    up = randomise(UpSample(4, 2).double(), 0.3)
    x, skip = rand(1, 6, 3, 5), rand(1, 4, 6, 10, seed=3)
    expected = F.conv2d(bilinear_up2(x), up.up[1].weight)
    torch.testing.assert_close(up(x), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(up(x, skip), expected + skip, rtol=0, atol=1e-12)


def test_orb_has_no_bias_on_its_last_conv():
    orb = randomise(ORB(8, 3, 4, nn.PReLU(), True, num_cab=2).double(), 0.3)
    assert orb.body[2].bias is None and orb.body[0].body[0].bias is not None
    x = rand(1, 8, 6, 6)
    expected = x + F.conv2d(ref_cab(orb.body[1], ref_cab(orb.body[0], x)), orb.body[2].weight, padding=1)
    torch.testing.assert_close(orb(x), expected, rtol=0, atol=1e-12)


def test_stage2_encoder_fuses_stage1_features():
    model = randomise(MPRNet(**TINY).double(), 0.3)
    enc = model.stage2_encoder
    x = rand(1, 8, 8, 8)
    prev_enc = [rand(1, 8 + 4 * i, 8 >> i, 8 >> i, seed=10 + i) for i in range(3)]
    prev_dec = [rand(1, 8 + 4 * i, 8 >> i, 8 >> i, seed=20 + i) for i in range(3)]

    def csff(level, feat):
        return (feat + F.conv2d(prev_enc[level - 1], getattr(enc, f'csff_enc{level}').weight)
                + F.conv2d(prev_dec[level - 1], getattr(enc, f'csff_dec{level}').weight))

    enc1 = csff(1, enc.encoder_level1(x))
    enc2 = csff(2, enc.encoder_level2(enc.down12(enc1)))
    enc3 = csff(3, enc.encoder_level3(enc.down23(enc2)))
    for got, expected in zip(enc(x, prev_enc, prev_dec), (enc1, enc2, enc3)):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match='csff=False'):
        model.stage1_encoder(x, prev_enc, prev_dec)


def test_multi_patch_hierarchy():
    """Stage 1 restores each half from that half alone (its quarters); stages 2 and 3 see the
    whole image. The final output is forward's."""
    model = randomise(MPRNet(**TINY).double(), 0.3).eval()
    x = rand(1, 3, 16, 24)
    changed = x.clone()
    changed[:, :, 8:] = rand(1, 3, 8, 24, seed=5)  # another bottom half
    with torch.no_grad():
        (s1, s2, s3), (t1, t2, t3) = model.forward_stages(x), model.forward_stages(changed)
        final = model(x)
    assert torch.equal(final, s3)
    assert torch.equal(s1[:, :, :8], t1[:, :, :8]) and not torch.equal(s1[:, :, 8:], t1[:, :, 8:])
    assert not torch.equal(s2[:, :, :8], t2[:, :, :8]) and not torch.equal(s3[:, :, :8], t3[:, :, :8])


# ------------------------------------------------ any size, training losses

def test_any_size_through_the_restorer_and_a_clear_error_without_padding():
    model = MPRNet(**TINY).eval()
    restorer = ImageRestorer(model, None)
    assert restorer.size_multiple == 8
    out = restorer.restore(torch.rand(2, 3, 13, 21))
    assert out.shape == (2, 3, 13, 21)
    with torch.no_grad():
        assert [o.shape for o in model.forward_stages(torch.rand(1, 3, 8, 16))] == [(1, 3, 8, 16)] * 3
    with pytest.raises(ValueError, match='MPRNet: input H=12, W=16 must be multiples of 8'):
        model(torch.rand(1, 3, 12, 16))


def test_training_loss_sums_over_the_three_stages():
    from restorelab.models.losses import CompositeLoss
    from restorelab.structures import DataSample
    torch.manual_seed(0)
    loss_cfg = dict(type='CompositeLoss',
                    losses=[dict(type='CharbonnierLoss'), dict(type='EdgeLoss', loss_weight=0.05)])
    restorer = ImageRestorer(MPRNet(**TINY), dict(type='MultiStageLoss', loss=loss_cfg))
    gt = torch.rand(2, 3, 16, 16)
    inputs = (gt + 0.2 * torch.rand_like(gt)).clamp(0, 1)
    loss = restorer(inputs, [DataSample(gt_img=g) for g in gt], mode='loss')['loss_pix']
    criterion = CompositeLoss(loss_cfg['losses'])
    expected = sum(criterion(out, gt) for out in restorer.arch.forward_stages(inputs))
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=0)
    assert loss > criterion(restorer.arch(inputs), gt)  # not the final image's alone
    loss.backward()
    assert all(p.grad is not None for p in restorer.arch.parameters())


# ------------------------------------------------ converter

def random_state(model, seed):
    """The model's state_dict with random values (weights ~ N(0, 1/fan_in), so that a full-size
    network stays finite), the shared PReLU slope drawn once."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / p[0].numel() ** 0.5 if p.dim() > 1
                    else torch.rand(p.shape, generator=gen) * 0.4 - 0.2)
    return OrderedDict((k, v.clone()) for k, v in model.state_dict().items())


def release_file(path, state):
    """Laid out as the release's train.py saves: epoch, DataParallel state_dict, Adam state."""
    params = [torch.nn.Parameter(torch.zeros(2))]
    torch.save({'epoch': 250, 'state_dict': OrderedDict((f'module.{k}', v) for k, v in state.items()),
                'optimizer': torch.optim.Adam(params, lr=2e-4).state_dict()}, path)


def test_release_file_round_trip_into_image_restorer(tmp_path):
    """tools/convert_checkpoint.py on a file laid out as the release saves, checked against the
    Rain13K config (full size): the identity on the keys, loaded strictly, the same outputs."""
    spec = importlib.util.spec_from_file_location('convert_checkpoint_tool', REPO / 'tools' / 'convert_checkpoint.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    reference = MPRNet().eval()
    state = random_state(reference, 0)
    src, dst = tmp_path / 'model_deraining.pth', tmp_path / 'mprnet_rain13k.pth'
    release_file(src, state)
    assert tool.main(['mprnet', str(src), str(dst), '--check-config', str(CONFIG)]) == 0
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert list(saved['state_dict']) == [f'arch.{k}' for k in state]
    assert saved['meta']['source_key'] == 'state_dict' and saved['meta']['num_params'] == 3_637_303
    restorer = MODELS.build(Config.fromfile(CONFIG).model.to_dict()).eval()
    load_checkpoint(restorer, str(dst), map_location='cpu', strict=True)
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        out = restorer(x, mode='tensor')
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, reference(x), rtol=0, atol=0)


def test_converter_names_the_variant_a_file_holds(tmp_path):
    other = dict(type='MPRNet', n_feat=8, scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1, kernel_size=3,
                 reduction=4, bias=False)
    src = tmp_path / 'other.pth'
    release_file(src, random_state(MPRNet(**TINY), 0))
    with pytest.raises(CheckpointConversionError,
                       match=r"does not fit MPRNet: .*shape mismatches \(shallow_feat1.0.weight: checkpoint "
                             r"\(8, 3, 3, 3\) vs model \(40, 3, 3, 3\).*The file holds dict\(type='MPRNet', n_feat=8, "
                             r"scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1, kernel_size=3, reduction=4, "
                             r"bias=False\): pass a config whose model.arch is that \(--check-config CONFIG\)"):
        load_official_checkpoint(src, 'mprnet')
    assert len(load_official_checkpoint(src, 'mprnet', arch=other)) == len(release_keys(**TINY))
    # Another model's file: no MPRNet options to name.
    torch.save({'state_dict': {'conv0.0.weight': torch.zeros(32, 6, 3, 3)}}, src)
    with pytest.raises(CheckpointConversionError, match=r'1 unexpected keys \(first: conv0.0.weight\)\. '
                                                        r'Is it a checkpoint of this model\?'):
        load_official_checkpoint(src, 'mprnet', arch=other)


def test_infer_arch_reads_every_release_variant():
    infer = get_converter('mprnet').infer_arch
    defaults = dict(num_cab=8, kernel_size=3, reduction=4, bias=False)
    for widths in RELEASE_VARIANTS.values():
        with torch.device('meta'):
            state = MPRNet(**widths).state_dict()
        assert infer(state) == dict(type='MPRNet', **widths, **defaults)
    assert infer(MPRNet(**dict(TINY, bias=True, num_cab=2)).state_dict())['num_cab'] == 2
    assert infer({'conv.weight': torch.zeros(1)}) is None


def test_converter_refuses_differing_copies_of_the_shared_prelu():
    state, _ = unwrap_state_dict(random_state(MPRNet(**TINY), 0))
    state['stage2_decoder.skip_attn1.body.1.weight'] = state['stage2_decoder.skip_attn1.body.1.weight'] + 1
    with pytest.raises(CheckpointConversionError,
                       match=r'shared PReLU slope differs between shallow_feat1.1.body.1.weight .* and 1 other keys '
                             r'\(first: stage2_decoder.skip_attn1.body.1.weight'):
        get_converter('mprnet')(state)
