"""ImageRestorer and the test-time helpers: padding, tiling, self-ensemble, modes, training."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from restorelab.models.losses import CharbonnierLoss
from restorelab.models.restorers import (ImageRestorer, blend_ramp, pad_to_multiple, restore_tensor,
                                         tile_starts, tiled_forward)
from restorelab.registry import MODELS
from restorelab.structures import DataSample


class ShapeRecorder(nn.Module):
    """Identity that records the shapes it is called with and insists on its size multiple."""

    def __init__(self, size_multiple=8):
        super().__init__()
        self.size_multiple = size_multiple
        self.shapes = []

    def forward(self, x):
        assert x.shape[-2] % self.size_multiple == 0 and x.shape[-1] % self.size_multiple == 0
        self.shapes.append(tuple(x.shape))
        return x.clone()


class Pointwise(nn.Module):
    """A per-pixel map: tiling and flips cannot change its result."""
    size_multiple = 8

    def forward(self, x):
        return torch.sigmoid(3 * x - 1) * 1.1 - 0.05


@MODELS.register_module(name='TestOnlyTwoConvArch', force=True)
class TwoConv(nn.Module):
    """Two 3x3 convs (receptive radius 2) with a residual; optional D4-symmetric kernels."""

    def __init__(self, size_multiple=8, symmetric=False, seed=0):
        super().__init__()
        self.size_multiple = size_multiple
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)
        with torch.no_grad():
            for conv in (self.conv1, self.conv2):
                w = torch.randn(conv.weight.shape, generator=gen) * 0.3
                if symmetric:  # invariant under flips and transposes -> equivariant network
                    w = w + w.flip(-1)
                    w = w + w.flip(-2)
                    w = w + w.transpose(-2, -1)
                    w = w / 8
                conv.weight.copy_(w)
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))


def _img(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- padding

def test_pad_to_multiple_matches_numpy_reflect_also_beyond_image_size():
    x = _img(1, 3, 3, 5)
    padded, (h, w) = pad_to_multiple(x, 8)
    assert (h, w) == (3, 5) and padded.shape == (1, 3, 8, 8)
    # Pads of 5 rows > 2 are done by repeated reflection, like numpy's 'reflect'.
    ref = np.pad(x.numpy(), ((0, 0), (0, 0), (0, 5), (0, 3)), mode='reflect')
    assert np.array_equal(padded.numpy(), ref)
    assert torch.equal(pad_to_multiple(x, 1)[0], x)
    assert np.array_equal(pad_to_multiple(x, 4, 'replicate')[0].numpy(),
                          np.pad(x.numpy(), ((0, 0), (0, 0), (0, 1), (0, 3)), mode='edge'))
    one_row = _img(1, 3, 1, 4)
    assert torch.equal(pad_to_multiple(one_row, 4)[0], one_row.expand(1, 3, 4, 4))


def test_padding_round_trip_identity_arch():
    arch = ShapeRecorder(8)
    model = ImageRestorer(arch, None)
    x = _img(2, 3, 37, 53)
    out = model.restore(x)
    assert arch.shapes == [(2, 3, 40, 56)]
    assert torch.equal(out, x)


def test_conv_arch_runs_on_reflect_padded_input_and_is_cropped_back():
    arch = TwoConv(size_multiple=8)
    x = _img(1, 3, 37, 53)
    out = restore_tensor(arch, x, size_multiple=8)
    with torch.no_grad():
        ref = arch(F.pad(x, (0, 3, 0, 3), mode='reflect'))[..., :37, :53]
        assert out.shape == (1, 3, 37, 53)
        assert torch.equal(out, ref)


# ---------------------------------------------------------------- tiling

def test_tile_starts_and_blend_weights():
    assert tile_starts(40, 16, 8) == [0, 8, 16, 24]
    assert tile_starts(56, 16, 0) == [0, 16, 32, 40]
    assert tile_starts(16, 16, 4) == [0]
    # overlap 4: zero for m = 1 pixel, linear ramp over 2, then 1; image borders stay 1.
    w = blend_ramp(8, 4, True, False)
    assert w.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1, 1, 1, 1])
    assert blend_ramp(8, 4, False, False).tolist() == [1.0] * 8
    # Two tiles overlapping by exactly `overlap` cross-fade with weights summing to 1.
    for overlap in (1, 2, 3, 4, 7, 8, 13):
        a = blend_ramp(32, overlap, False, True)[32 - overlap:]
        b = blend_ramp(32, overlap, True, False)[:overlap]
        assert torch.allclose(a + b, torch.ones(overlap, dtype=torch.float64))


@pytest.mark.parametrize('tile,overlap,batch', [(16, 0, 1), (16, 4, 3), (16, 8, 2), (24, 12, 16)])
def test_tiling_equals_untiled_exactly_for_pointwise_arch(tile, overlap, batch):
    x = _img(2, 3, 37, 53)
    plain = restore_tensor(Pointwise(), x, size_multiple=8)
    tiled = restore_tensor(Pointwise(), x, size_multiple=8, tile=tile, tile_overlap=overlap,
                           tile_batch_size=batch)
    assert torch.equal(tiled, plain)


def test_tiles_are_bounded_and_valid_for_size_multiple():
    arch = ShapeRecorder(8)
    x = _img(1, 3, 37, 53)
    out = restore_tensor(arch, x, size_multiple=8, tile=16, tile_overlap=8, tile_batch_size=3)
    assert torch.equal(out, x)
    # 40x56 padded: 4 x 6 tiles of 16x16, three per call.
    assert arch.shapes == [(3, 3, 16, 16)] * 8


def test_single_tile_covering_image_equals_untiled_exactly():
    arch = TwoConv()
    x = _img(1, 3, 37, 53)
    with torch.no_grad():
        plain = restore_tensor(arch, x, size_multiple=8)
        assert torch.equal(restore_tensor(arch, x, size_multiple=8, tile=64, tile_overlap=32), plain)


def test_conv_arch_tiling_exact_away_from_seams_and_with_enough_overlap():
    arch = TwoConv()  # receptive radius 2
    x = _img(1, 3, 40, 56)
    with torch.no_grad():
        plain = arch(x)
        # No overlap: seams are visible, pixels >= 2 from every inner tile edge are exact.
        tiled = tiled_forward(arch, x, tile=16, tile_overlap=0)
        diff = (tiled - plain).abs()[0].amax(0)
        assert diff.max() > 1e-3
        near = torch.zeros(40, 56, dtype=torch.bool)
        for axis, length in ((0, 40), (1, 56)):
            starts = tile_starts(length, 16, 0)
            inner_edges = set(starts[1:]) | {s + 16 for s in starts[:-1]}
            for e in inner_edges:  # a tile's own pixels within 2 of its inner edge
                near.narrow(axis, e - 2, 4).fill_(True)
        assert diff[~near].max() < 1e-6
        # overlap 8 -> blend margin 8 // 4 = 2 >= receptive radius: exact everywhere.
        tiled = tiled_forward(arch, x, tile=16, tile_overlap=8, tile_batch_size=4)
        assert (tiled - plain).abs().max() < 1e-6


def test_restorer_tiled_predict_equals_untiled_for_pointwise_arch(device):
    x = _img(1, 3, 37, 53).to(device)
    plain = ImageRestorer(Pointwise(), None).to(device).restore(x)
    tiled = ImageRestorer(Pointwise(), None, test_cfg=dict(tile=16, tile_overlap=8)).to(device).restore(x)
    assert tiled.device.type == device
    # On the CPU exactly; CUDA kernels may round the blend's products and sums differently.
    assert (tiled - plain).abs().max() <= (0 if device == 'cpu' else 1e-6)


# ---------------------------------------------------------------- self-ensemble

def test_self_ensemble_of_equivariant_arch_equals_plain():
    x = _img(1, 3, 37, 53)
    assert torch.equal(restore_tensor(Pointwise(), x, 8, self_ensemble=True),
                       restore_tensor(Pointwise(), x, 8))
    arch = TwoConv(size_multiple=1, symmetric=True)
    x = _img(1, 3, 24, 24)  # square, no padding: the padded image is flip-symmetric too
    with torch.no_grad():
        ens = restore_tensor(arch, x, 1, self_ensemble=True)
        assert (ens - arch(x)).abs().max() < 1e-6


def test_self_ensemble_averages_the_eight_inverted_outputs(device):
    arch = TwoConv(size_multiple=1, seed=3).to(device)
    x = _img(1, 3, 12, 20).to(device)
    # float32 convolutions on CUDA too (cuDNN would use TF32 by default).
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ens = restore_tensor(arch, x, 1, self_ensemble=True)
        outs = []
        for hflip in (False, True):
            for vflip in (False, True):
                for transpose in (False, True):
                    t = x.flip(-1) if hflip else x
                    t = t.flip(-2) if vflip else t
                    t = t.transpose(-2, -1) if transpose else t
                    o = arch(t)
                    o = o.transpose(-2, -1) if transpose else o
                    o = o.flip(-2) if vflip else o
                    outs.append(o.flip(-1) if hflip else o)
        ref = torch.stack(outs).mean(0)
        assert (ens - ref).abs().max() < 1e-6
        assert (ens - arch(x)).abs().max() > 1e-3  # the arch is not equivariant


# ---------------------------------------------------------------- modes and training

def _data(n=2, h=16, w=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    samples = [DataSample(gt_img=torch.rand(3, h, w, generator=gen), metainfo=dict(key=f'k{i}'))
               for i in range(n)]
    return dict(inputs=[torch.rand(3, h, w, generator=gen) for _ in range(n)], data_samples=samples)


def test_builds_from_config_and_loss_mode_equals_loss_on_same_tensors():
    model = MODELS.build(dict(type='ImageRestorer', arch=dict(type='TestOnlyTwoConvArch'),
                              pixel_loss=dict(type='CharbonnierLoss', loss_weight=0.5)))
    assert isinstance(model.arch, TwoConv) and model.size_multiple == 8
    data = model.data_preprocessor(_data(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pix'}
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    expected = CharbonnierLoss(loss_weight=0.5)(model.arch(data['inputs']), gt)
    assert torch.equal(losses['loss_pix'], expected)
    assert torch.equal(model(data['inputs']), model.arch(data['inputs']))  # tensor mode: raw


def test_loss_is_computed_in_float32_under_autocast():
    model = ImageRestorer(TwoConv(), dict(type='SSIMLoss'))
    data = model.data_preprocessor(_data(), training=True)
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        pred = model.arch(data['inputs'])
        loss = model(**data, mode='loss')['loss_pix']
        in_autocast = model.pixel_loss(pred.float(), gt)
    assert loss.dtype == torch.float32
    expected = model.pixel_loss(pred.float(), gt)  # outside autocast: float32 convolutions
    assert torch.equal(loss, expected)
    assert not torch.equal(in_autocast, expected)


def test_predict_clamps_and_returns_cpu_copies():
    class Overshoot(nn.Module):
        def forward(self, x):
            return 2 * x - 0.5

    model = ImageRestorer(Overshoot(), None)
    data = model.data_preprocessor(_data(h=5, w=7))
    results = model(**data, mode='predict')
    raw = 2 * data['inputs'] - 0.5
    assert raw.min() < 0 and raw.max() > 1
    for i, res in enumerate(results):
        assert res.pred_img.device.type == 'cpu' and res.pred_img.shape == (3, 5, 7)
        assert torch.equal(res.pred_img, raw[i].clamp(0, 1))
        assert res.key == f'k{i}' and torch.equal(res.gt_img, data['data_samples'][i].gt_img)
        assert 'pred_img' not in data['data_samples'][i]  # the input samples are untouched
    bare = model(data['inputs'], mode='predict')
    assert len(bare) == 2 and torch.equal(bare[1].pred_img, raw[1].clamp(0, 1))


def test_train_step_updates_weights():
    torch.manual_seed(0)
    model = ImageRestorer(dict(type='TestOnlyTwoConvArch'), dict(type='L1Loss'))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_data(), wrapper)
    assert set(log) == {'loss', 'loss_pix'} and log['loss'] > 0
    after = model.state_dict()
    assert set(after) == set(before)  # losses and preprocessor add no state
    assert all(not torch.equal(before[k], after[k]) for k in before)
    preds = model.val_step(_data(n=1, h=13, w=11))
    assert preds[0].pred_img.shape == (3, 13, 11)


def test_bad_configs_and_calls_give_clear_errors():
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'tile_size'; did you mean .*'tile'\?"):
        ImageRestorer(Pointwise(), None, test_cfg=dict(tile_size=64))
    with pytest.raises(ValueError, match="tile=100 is not a multiple of the arch's size_multiple 8; use 96 or 104"):
        ImageRestorer(Pointwise(), None, test_cfg=dict(tile=100))
    with pytest.raises(ValueError, match='tile_overlap=16 must be smaller than test_cfg.tile=16'):
        ImageRestorer(Pointwise(), None, test_cfg=dict(tile=16, tile_overlap=16))
    with pytest.raises(ValueError, match='pad_mode'):
        ImageRestorer(Pointwise(), None, test_cfg=dict(pad_mode='circular'))
    with pytest.raises(ValueError, match='no train_cfg options'):
        ImageRestorer(Pointwise(), None, train_cfg=dict(ema=True))
    model = ImageRestorer(TwoConv(), None)
    with pytest.raises(RuntimeError, match='pixel_loss=None'):
        model(**model.data_preprocessor(_data()), mode='loss')
    model = ImageRestorer(TwoConv(), dict(type='L1Loss'))
    with pytest.raises(ValueError, match="training input 12x12 is not a multiple of the arch's size_multiple 8"):
        model(**model.data_preprocessor(_data(h=12, w=12)), mode='loss')
    with pytest.raises(ValueError, match="mode='train'"):
        model(torch.zeros(1, 3, 8, 8), mode='train')

    class Shrinks(nn.Module):
        def forward(self, x):
            return x[..., 1:, :]

    with pytest.raises(ValueError, match=r'input\'s shape \(1, 3, 8, 8\), got \(1, 3, 7, 8\)'):
        ImageRestorer(Shrinks(), None).restore(torch.zeros(1, 3, 8, 8))


class AutocastRecorder(nn.Module):
    """A 1x1 conv that records whether it ran under CPU bfloat16 autocast."""
    size_multiple = 8

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append(torch.is_autocast_enabled('cpu'))
        return torch.sigmoid(self.conv(x))


def test_bf16_switch_runs_the_arch_under_autocast_and_returns_float32():
    torch.manual_seed(0)
    arch = AutocastRecorder()
    x = torch.rand(1, 3, 16, 24)
    plain = ImageRestorer(arch, None).restore(x)
    model = ImageRestorer(arch, None, test_cfg=dict(bf16=True))
    out = model.restore(x)
    assert arch.seen == [False, True]
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert 0 < (out - plain).abs().max() < 1e-2  # bfloat16 keeps 8 bits of mantissa


def test_compile_switch_gives_the_same_output_and_no_new_state():
    """test_cfg.compile runs torch.compile'd arch (the 'eager' backend here: no compiler needed) built
    once, outside the module tree."""
    torch.manual_seed(0)
    model = ImageRestorer(TwoConv(), None, test_cfg=dict(compile=dict(backend='eager')))
    keys = set(model.state_dict())
    x = torch.rand(2, 3, 16, 16)
    out = model.restore(x)
    assert torch.equal(out, ImageRestorer(model.arch, None).restore(x))
    assert model.compiled_arch(dict(backend='eager')) is model.compiled_arch(dict(backend='eager'))
    assert set(model.state_dict()) == keys


def test_bf16_and_compile_switches_are_checked():
    with pytest.raises(ValueError, match=r"test_cfg.bf16='yes'; expected True \(bfloat16 autocast\) or False"):
        ImageRestorer(Pointwise(), None, test_cfg=dict(bf16='yes'))
    with pytest.raises(ValueError, match=r"test_cfg.compile='inductor'; expected True/False or a dict"):
        ImageRestorer(Pointwise(), None, test_cfg=dict(compile='inductor'))


def test_tool_switches_set_test_cfg_only_when_given():
    from mmengine.config import Config

    from restorelab.engine.launch import apply_inference_switches
    cfg = Config(dict(model=dict(type='ImageRestorer', test_cfg=dict(tile=64))))
    apply_inference_switches(cfg)
    assert cfg.model.test_cfg == dict(tile=64)
    apply_inference_switches(cfg, bf16=True, compile=True)
    assert cfg.model.test_cfg == dict(tile=64, bf16=True, compile=True)
    cfg = Config(dict(model=dict(type='ImageRestorer')))
    apply_inference_switches(cfg, bf16=True)
    assert cfg.model.test_cfg == dict(bf16=True)


class TwoStages(nn.Module):
    """A two-stage arch: ``forward_stages`` gives both estimates, ``forward`` the last."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([0.5, 0.25]))

    def forward_stages(self, x):
        first = x * self.scale[0]
        return [first, first + x * self.scale[1]]

    def forward(self, x):
        return self.forward_stages(x)[-1]


def test_a_multi_stage_loss_gets_every_stage_output():
    model = ImageRestorer(TwoStages(), dict(type='MultiStageLoss', loss=dict(type='MSELoss'),
                                            stage_weights=[1, 2]))
    data = model.data_preprocessor(_data(), training=True)
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    x = data['inputs']
    expected = F.mse_loss(0.5 * x, gt) + 2 * F.mse_loss(0.75 * x, gt)
    torch.testing.assert_close(model(**data, mode='loss')['loss_pix'], expected)
    # A plain loss sees only the final output.
    plain = ImageRestorer(TwoStages(), dict(type='MSELoss'))
    torch.testing.assert_close(plain(**data, mode='loss')['loss_pix'], F.mse_loss(0.75 * x, gt))
    # An arch without stages cannot be trained with a multi-stage loss.
    single = ImageRestorer(TwoConv(), dict(type='MultiStageLoss', loss=dict(type='MSELoss')))
    with pytest.raises(ValueError, match='needs the output of every stage, but TwoConv has no '
                                         r'forward_stages\(\)'):
        single(**single.data_preprocessor(_data()), mode='loss')


class InputContrast(nn.Module):
    """A loss that needs the input batch: mean |pred - target| - 0.25 mean |pred - inputs|."""

    takes_inputs = True

    def forward(self, pred, target, weight=None, inputs=None):
        assert weight is None
        return (pred - target).abs().mean() - 0.25 * (pred - inputs).abs().mean()


def test_a_loss_that_takes_inputs_gets_the_input_batch():
    model = ImageRestorer(TwoConv(), InputContrast())
    data = model.data_preprocessor(_data(), training=True)
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    x = data['inputs']
    pred = model.arch(x)
    expected = (pred - gt).abs().mean() - 0.25 * (pred - x).abs().mean()
    torch.testing.assert_close(model(**data, mode='loss')['loss_pix'], expected)
    # Inside a CompositeLoss only the losses that ask for it get the inputs.
    composite = ImageRestorer(TwoConv(), dict(type='CompositeLoss', losses=[
        dict(type='L1Loss', loss_weight=2.0), InputContrast()]))
    assert composite.pixel_loss.takes_inputs
    expected = 2 * (pred - gt).abs().mean() + expected
    torch.testing.assert_close(composite(**data, mode='loss')['loss_pix'], expected)
    assert not MODELS.build(dict(type='CompositeLoss', losses=[dict(type='L1Loss')])).takes_inputs
