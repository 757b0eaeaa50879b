"""IDT: official key layout, parameter count, clamped relative positions, the
spatial block's token order, padding through the restorer, the 'idt' converter;
and the tiny configs added with it (IDT, Uformer) build and train a step."""
import math
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.idt import IDT, SpatialTransformerBlock, clamped_relative_position_index
from restorelab.registry import MODELS
from restorelab.structures import DataSample
from restorelab.models.converters import (CheckpointConversionError, known_converters,
                                         load_official_checkpoint)

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'

# Levels at img_size 32: 32, 16, 8, 4, 2 pixels; windows of 2 everywhere, spatial
# windows of 2 (tokens of dimension 4), so every head count must divide 4.
TINY = dict(img_size=32, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1], win_size=2,
            spatial_win_size=2, spatial_k_bounds=(4, 4, 2, 2, 2, 2, 4, 4))


def attn_keys(prefix, dim, heads, k_bound, kernel):
    """The release's WindowAttention: bias table, Position_Extract, qkv, proj."""
    return [
        (f'{prefix}.relative_position_bias_table', ((2 * k_bound - 1) ** 2, heads)),
        (f'{prefix}.Position_Extract.0.weight', (dim, 1, kernel, kernel)),
        (f'{prefix}.Position_Extract.0.bias', (dim,)),
        (f'{prefix}.Position_Extract.1.weight', (dim, dim // heads, 1, 1)),
        (f'{prefix}.Position_Extract.1.bias', (dim,)),
        (f'{prefix}.qkv.to_q.weight', (dim, dim)),
        (f'{prefix}.qkv.to_q.bias', (dim,)),
        (f'{prefix}.qkv.to_kv.weight', (3 * dim, dim)),
        (f'{prefix}.qkv.to_kv.bias', (3 * dim,)),
        (f'{prefix}.proj.weight', (dim, dim)),
        (f'{prefix}.proj.bias', (dim,)),
    ]


def leff_keys(prefix, dim, hidden):
    return [
        (f'{prefix}.linear1.0.weight', (hidden, dim)),
        (f'{prefix}.linear1.0.bias', (hidden,)),
        (f'{prefix}.dwconv.0.weight', (hidden, 1, 3, 3)),
        (f'{prefix}.dwconv.0.bias', (hidden,)),
        (f'{prefix}.linear2.0.weight', (dim, hidden)),
        (f'{prefix}.linear2.0.bias', (dim,)),
    ]


def window_block(prefix, dim, heads):
    """IDTBlock with a 2x2 window: positional conv 3x3, the 15x15 table of k_bound 8."""
    return [(f'{prefix}.norm1.weight', (dim,)), (f'{prefix}.norm1.bias', (dim,)),
            *attn_keys(f'{prefix}.attn', dim, heads, 8, 3),
            (f'{prefix}.norm2.weight', (dim,)), (f'{prefix}.norm2.bias', (dim,)),
            *leff_keys(f'{prefix}.mlp', dim, 4 * dim)]


def spatial_block(prefix, channels, heads, k_bound, kernel):
    """SpatialTransformerLayer with 2x2 windows: attention of dimension 4 (no norm1),
    LeFF of hidden width 4 * mlp_ratio = 16 whatever the channels."""
    return [*attn_keys(f'{prefix}.attn', 4, heads, k_bound, kernel),
            (f'{prefix}.norm2.weight', (channels,)), (f'{prefix}.norm2.bias', (channels,)),
            *leff_keys(f'{prefix}.mlp', channels, 16)]


def conv(prefix, cout, cin, k):
    return [(f'{prefix}.weight', (cout, cin, k, k)), (f'{prefix}.bias', (cout,))]


def deconv(prefix, cin, cout):
    return [(f'{prefix}.weight', (cin, cout, 2, 2)), (f'{prefix}.bias', (cout,))]


# jiexiaou/IDT model.py's layout with TINY. Spatial grids at img_size 32: 16, 8, 4, 2
# windows per side (encoder), 2, 4, 8, 16 (decoder): a 5x5 positional conv, 3x3 on the
# 2x2 grids.
TINY_OFFICIAL_KEYS = [
    *conv('input_proj.proj.0', 4, 3, 3),
    *conv('output_proj.proj.0', 3, 8, 3),
    *window_block('encoderlayer_0.blocks.0', 4, 1), *spatial_block('encoderlayer_0.blocks.1', 4, 1, 4, 5),
    *conv('dowsample_0.conv.0', 8, 4, 4),
    *window_block('encoderlayer_1.blocks.0', 8, 1), *spatial_block('encoderlayer_1.blocks.1', 8, 1, 4, 5),
    *conv('dowsample_1.conv.0', 16, 8, 4),
    *window_block('encoderlayer_2.blocks.0', 16, 2), *spatial_block('encoderlayer_2.blocks.1', 16, 2, 2, 5),
    *conv('dowsample_2.conv.0', 32, 16, 4),
    *window_block('encoderlayer_3.blocks.0', 32, 2), *spatial_block('encoderlayer_3.blocks.1', 32, 2, 2, 3),
    *conv('dowsample_3.conv.0', 64, 32, 4),
    *window_block('bottle.blocks.0', 64, 4),
    *deconv('upsample_0.deconv.0', 64, 32),
    *window_block('decoderlayer_0.blocks.0', 64, 4), *spatial_block('decoderlayer_0.blocks.1', 64, 4, 2, 3),
    *deconv('upsample_1.deconv.0', 64, 16),
    *window_block('decoderlayer_1.blocks.0', 32, 2), *spatial_block('decoderlayer_1.blocks.1', 32, 2, 2, 5),
    *deconv('upsample_2.deconv.0', 32, 8),
    *window_block('decoderlayer_2.blocks.0', 16, 1), *spatial_block('decoderlayer_2.blocks.1', 16, 1, 4, 5),
    *deconv('upsample_3.deconv.0', 16, 4),
    *window_block('decoderlayer_3.blocks.0', 8, 1), *spatial_block('decoderlayer_3.blocks.1', 8, 1, 4, 5),
]


def random_state(model, seed):
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((k, v + 0.05 * torch.randn(v.shape, generator=gen)) for k, v in model.state_dict().items())


def test_tiny_state_dict_matches_official_layout_in_order():
    got = [(k, tuple(v.shape)) for k, v in IDT(**TINY).state_dict().items()]
    assert got == TINY_OFFICIAL_KEYS


def test_default_is_the_release_deraining_model():
    model = MODELS.build(dict(type='IDT'))
    assert count_parameters(model) == 16_416_463
    assert model.size_multiple == 128
    # Blocks per level: depths window blocks + one spatial block (none in the bottleneck).
    levels = [model.encoderlayer_0, model.encoderlayer_1, model.encoderlayer_2, model.encoderlayer_3,
              model.bottle, model.decoderlayer_0, model.decoderlayer_1, model.decoderlayer_2,
              model.decoderlayer_3]
    assert [len(lay.blocks) for lay in levels] == [4, 4, 3, 3, 1, 2, 3, 3, 4]
    spatial = [lay.blocks[-1] for i, lay in enumerate(levels) if i != 4]
    assert all(isinstance(b, SpatialTransformerBlock) for b in spatial)
    assert [b.attn.k_bound for b in spatial] == [16, 8, 4, 2, 2, 4, 8, 16]
    # 16x16 levels have 2x2 spatial grids at img_size 128: 3x3 positional conv, else 5x5.
    assert [b.attn.Position_Extract[0].kernel_size for b in spatial] == [
        (5, 5), (5, 5), (5, 5), (3, 3), (3, 3), (5, 5), (5, 5), (5, 5)]
    # Stochastic depth: window blocks take their level slice's first rate, spatial the last.
    rates = [[getattr(b.drop_path, 'drop_prob', 0.0) for b in lay.blocks] for lay in levels]
    ramp = torch.linspace(0, 0.1, 10).tolist()
    assert rates[0] == [0.0, 0.0, 0.0, ramp[2]]
    assert rates[3] == [ramp[8], ramp[8], ramp[9]]
    assert rates[4] == [pytest.approx(0.1)]
    assert rates[5] == [ramp[9], ramp[9]]


def test_clamped_relative_position_index():
    # One row of 3 tokens, bound 2: dx in {-2..2} clamped to {-1, 0, 1}; index (0+1)*3 + dx+1.
    assert clamped_relative_position_index(1, 3, 2).tolist() == [[4, 3, 3], [5, 4, 3], [5, 5, 4]]
    # A 2x2 grid within the bound: the Swin layout of a 3x3 table.
    assert clamped_relative_position_index(2, 2, 2).tolist() == [
        [4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]


def test_spatial_block_attends_across_windows_and_adds_in_window_major_order():
    torch.manual_seed(0)
    block = SpatialTransformerBlock(3, (8, 8), num_heads=2, win_size=2, k_bound=3).double().eval()
    b, c, h, w = 2, 3, 4, 6
    x = torch.randn(b, h * w, c, dtype=torch.float64)
    # The release's formulation: F.unfold windows -> (B*C, windows, s*s) tokens.
    img = x.transpose(1, 2).reshape(b, c, h, w)
    tokens = F.unfold(img, 2, stride=2).reshape(b * c, 4, -1).transpose(1, 2)
    y = block.attn(tokens, h // 2, w // 2)
    y = y.reshape(b, c, -1, 4).permute(0, 2, 3, 1).reshape(b, h * w, c)
    expected = x + y
    expected = expected + block.mlp(block.norm2(expected), h, w)
    torch.testing.assert_close(block(x, h, w), expected, rtol=0, atol=1e-12)


def test_odd_and_non_square_sizes():
    model = IDT(**TINY).eval()
    assert model.size_multiple == 32
    with torch.no_grad():
        assert model(torch.rand(1, 3, 32, 64)).shape == (1, 3, 32, 64)
    with pytest.raises(ValueError, match='H=19, W=41 must be multiples of 32'):
        model(torch.rand(1, 3, 19, 41))
    for test_cfg in (None, dict(tile=32, tile_overlap=8)):  # whole padded image, 32x32 tiles
        restorer = MODELS.build(dict(type='ImageRestorer', arch=dict(type='IDT', **TINY), pixel_loss=None,
                                     test_cfg=test_cfg)).eval()
        out = restorer.restore(torch.rand(1, 3, 19, 41))
        assert out.shape == (1, 3, 19, 41) and torch.isfinite(out).all()


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='need 9 entries'):
        IDT(depths=[1, 1])
    with pytest.raises(ValueError, match='spatial_k_bounds needs 8 entries'):
        IDT(**dict(TINY, spatial_k_bounds=(2, 2)))
    with pytest.raises(ValueError, match='smaller than its window 8; raise img_size'):
        IDT(**dict(TINY, spatial_win_size=8))
    with pytest.raises(ValueError, match='dim=4 is not divisible by num_heads=3'):
        IDT(**dict(TINY, num_heads=[3] * 9))


def test_converter_loads_a_dataparallel_release_file(tmp_path):
    assert 'idt' in known_converters()
    model = IDT(**TINY).eval()
    state = random_state(model, 0)
    src = tmp_path / 'net_latest.pth'  # train_derain.py saves model.state_dict() of DataParallel
    torch.save(OrderedDict((f'module.{k}', v) for k, v in state.items()), src)
    converted = load_official_checkpoint(src, 'idt', arch=dict(type='IDT', **TINY))
    assert list(converted) == list(state)
    assert all(torch.equal(converted[k], state[k]) for k in state)
    model.load_state_dict(converted, strict=True)


def test_converter_refuses_files_that_do_not_fit(tmp_path):
    state = random_state(IDT(**TINY), 1)
    # Against the default (full-size) IDT: every layer has other shapes.
    src = tmp_path / 'tiny.pth'
    torch.save(state, src)
    with pytest.raises(CheckpointConversionError, match=r'shape mismatches \(input_proj.proj.0.weight: '
                                                        r'checkpoint \(4, 3, 3, 3\) vs model \(32, 3, 3, 3\)'):
        load_official_checkpoint(src, 'idt')
    # A file missing the 8 spatial blocks (19 tensors each) and carrying a Uformer-only key.
    broken = OrderedDict((k, v) for k, v in state.items() if '.blocks.1.' not in k)
    broken['encoderlayer_0.blocks.0.modulator.weight'] = torch.zeros(4, 4)
    torch.save({'state_dict': broken}, src)
    with pytest.raises(CheckpointConversionError,
                       match=r'152 missing keys \(first: encoderlayer_0.blocks.1.attn.relative_position_bias_table'
                             r'.*1 unexpected keys \(first: encoderlayer_0.blocks.0.modulator.weight\)'):
        load_official_checkpoint(src, 'idt', arch=dict(type='IDT', **TINY))


def test_tiny_idt_config_is_tiny():
    cfg = Config.fromfile(CONFIGS / 'idt/idt_tiny_rain200h.py')
    arch = dict(cfg.model.arch)
    assert arch.pop('type') == 'IDT'
    as_tuples = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in arch.items() if k in TINY}
    assert as_tuples == {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in TINY.items()}
    assert cfg.model.test_cfg == dict(tile=32, tile_overlap=8)


# Parameters: IDT's from TINY_OFFICIAL_KEYS above; Uformer's tiny config is test_uformer.py's
# TINY, whose TINY_OFFICIAL_KEYS sum to 201,925 parameters.
@pytest.mark.parametrize('name, arch_type, params, loss', [
    ('idt/idt_tiny_rain200h.py', 'IDT', sum(math.prod(s) for _, s in TINY_OFFICIAL_KEYS), 'SSIMLoss'),
    ('uformer/uformer_tiny_rain200h.py', 'Uformer', 201_925, 'CharbonnierLoss'),
])
def test_tiny_config_trains_a_step(name, arch_type, params, loss):
    cfg = Config.fromfile(CONFIGS / name)
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == arch_type and type(model.pixel_loss).__name__ == loss
    assert count_parameters(model.arch) == params
    patch = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'PairedRandomCrop'][0].patch_size
    torch.manual_seed(0)
    gt = torch.rand(2, 3, patch, patch)
    rainy = (gt + 0.3 * torch.rand_like(gt)).clamp(0, 1)
    data = model.data_preprocessor(
        dict(inputs=list(rainy), data_samples=[DataSample(gt_img=g) for g in gt]), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_pix'])
    losses['loss_pix'].backward()
    grads = [p.grad for p in model.arch.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_idt_rain200h_recipe():
    cfg = Config.fromfile(CONFIGS / 'idt/idt_rain200h.py')
    assert cfg.model.arch == dict(type='IDT', img_size=128, in_chans=3, embed_dim=32, depths=[3, 3, 2, 2, 1, 1, 2, 2, 3],
                                  num_heads=[1, 2, 4, 8, 16, 16, 8, 4, 2], win_size=8, mlp_ratio=4.0,
                                  qkv_bias=True, drop_path_rate=0.1)
    assert cfg.model.pixel_loss == dict(type='SSIMLoss', loss_weight=1.0)
    assert cfg.model.test_cfg == dict(tile=128, tile_overlap=20)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, betas=(0.9, 0.999))
    assert cfg.param_scheduler == [dict(type='MultiStepLR', milestones=[100, 250, 350], gamma=0.1, by_epoch=True)]
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=10)
    assert cfg.total_batch_size == 4 and cfg.train_dataloader.batch_size == 4
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop',
                                          'RandomChoice', 'PackInputs']
    assert pipeline[2].patch_size == 128
    assert pipeline[3].prob == [0.5, 0.25, 0.25]
    assert [[t.direction for t in choice] for choice in pipeline[3].transforms] == [[], ['vertical'], ['horizontal']]
    assert [e.prefix for e in cfg.val_evaluator] == ['Rain200H', 'Rain200H']


def test_uformer_rain200h_recipe():
    cfg = Config.fromfile(CONFIGS / 'uformer/uformer_rain200h.py')
    assert cfg.model.arch.type == 'Uformer' and cfg.model.arch.img_size == 128 and cfg.model.arch.modulator
    assert cfg.model.pixel_loss == dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), eps=1e-8,
                                               weight_decay=0.02)
    assert [(s.type, s.begin, s.end) for s in cfg.param_scheduler] == [
        ('LinearLR', 0, 3600), ('CosineAnnealingLR', 3600, 300000)]
    assert cfg.param_scheduler[1].T_max == 296400 and cfg.param_scheduler[1].eta_min == 1e-6
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=1000)
    assert cfg.total_batch_size == 32
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline][2:] == [
        'PairedRandomCrop', 'PairedRandomRot90', 'PairedRandomFlip', 'PackInputs']


@pytest.mark.parametrize('name, dataset_type, prefix', [
    ('restormer_rain200l.py', 'PairedImageDataset', 'Rain200L'),
    ('restormer_did_data.py', 'PairedImageDataset', 'DID-Data'),
    ('restormer_ddn_data.py', 'PairedImageDataset', 'DDN-Data'),
    ('restormer_spa_data.py', 'PairedImageDataset', 'SPA-Data'),
])
def test_restormer_dataset_configs_share_the_rain200h_recipe(name, dataset_type, prefix):
    ref = Config.fromfile(CONFIGS / 'restormer/restormer_rain200h.py')
    cfg = Config.fromfile(CONFIGS / 'restormer' / name)
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg', 'total_batch_size', 'default_scope'):
        assert cfg[key] == ref[key], key
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.train_dataloader.dataset.type == dataset_type
    assert cfg.train_dataloader.dataset.pipeline == ref.train_dataloader.dataset.pipeline
    assert [e.prefix for e in cfg.val_evaluator] == [prefix, prefix]
    assert cfg.val_dataloader.dataset.data_root == f'data/{prefix}'


def test_prenet_rain100l_recipe():
    ref = Config.fromfile(CONFIGS / 'prenet/prenet_rain100h.py')
    cfg = Config.fromfile(CONFIGS / 'prenet/prenet_rain100l.py')
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg', 'default_hooks', 'log_processor'):
        assert cfg[key] == ref[key], key
    loader = cfg.train_dataloader
    assert loader.batch_size == 18
    # 200 pairs, each cut as is and flipped: 2 x 15 patches per pair and epoch.
    assert loader.dataset.type == 'RepeatDataset' and loader.dataset.times == 30
    inner = loader.dataset.dataset
    assert inner.data_root == 'data/Rain100L'
    assert [t.type for t in inner.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PairedRandomFlip', 'PackInputs']
    assert inner.pipeline[3] == dict(type='PairedRandomFlip', prob=0.5, direction='horizontal')
    assert [e.prefix for e in cfg.val_evaluator] == ['Rain100L', 'Rain100L']
