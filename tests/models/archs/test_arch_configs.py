"""The Restormer, PReNet, BRN and AIDNet configs build their models with the release's
recipe; BRN's (Rain100H/L) and AIDNet's train a few steps at tiny size."""
from pathlib import Path

import pytest
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.testing import make_paired_folder, train_tiny

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'


@pytest.mark.parametrize('name, arch_type, params, loss', [
    ('restormer/restormer_rain200h.py', 'Restormer', 26_126_644, 'L1Loss'),
    ('restormer/restormer_tiny_rain200h.py', 'Restormer', 208_217, 'L1Loss'),
    ('prenet/prenet_rain100h.py', 'PReNet', 168_963, 'SSIMLoss'),
])
def test_config_builds_model(name, arch_type, params, loss):
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.default_scope == 'restorelab'
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'ImageRestorer'
    assert type(model.arch).__name__ == arch_type
    assert count_parameters(model.arch) == params
    assert type(model.pixel_loss).__name__ == loss


def test_restormer_recipe():
    cfg = Config.fromfile(CONFIGS / 'restormer/restormer_rain200h.py')
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.01, norm_type=2)
    assert cfg.train_cfg.max_iters == 300_000
    assert cfg.total_batch_size == 64
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'PairedRandomCrop']
    assert [t.patch_size for t in crop] == [128]


def test_prenet_recipe():
    cfg = Config.fromfile(CONFIGS / 'prenet/prenet_rain100h.py')
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', milestones=[30, 50, 80], gamma=0.2,
                                        by_epoch=True)]
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
    loader = cfg.train_dataloader
    assert loader.batch_size == 18
    assert loader.dataset.type == 'RepeatDataset' and loader.dataset.times == 15
    assert [t.type for t in loader.dataset.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PackInputs']
    assert loader.dataset.dataset.pipeline[2].patch_size == 100


BRN_FAMILY = {  # config -> (arch, parameters, iterations per epoch, left-right flips)
    'brn/brn_rain100h.py': ('BRN', 375_526, 1254, False),
    'brn/brn_rain100l.py': ('BRN', 375_526, 400, True),
    'brn/brn_rain200h.py': ('BRN', 375_526, 1800, False),
    'brn/brn_rain200l.py': ('BRN', 375_526, 1800, False),
    'aidnet/aidnet_rain100h.py': ('AIDNet', 375_788, 1254, False),
    'aidnet/aidnet_rain100l.py': ('AIDNet', 376_598, 400, True),
}
# The releases' 100 epochs and lr steps after epochs 30, 50, 80, in iterations.
SCHEDULES = {1254: (125_400, [37_620, 62_700, 100_320]), 400: (40_000, [12_000, 20_000, 32_000]),
             1800: (180_000, [54_000, 90_000, 144_000])}
# Rain200H/L: the sets RecDerain retrained BRN on (its "RainHeavy*"/"RainLight*").
RAIN200_BRN = ('brn/brn_rain200h.py', 'brn/brn_rain200l.py')


@pytest.mark.parametrize('name', sorted(BRN_FAMILY))
def test_brn_family_recipe(name):
    arch_type, params, iters_per_epoch, flips = BRN_FAMILY[name]
    cfg = Config.fromfile(CONFIGS / name)
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == arch_type and model.arch.recurrent_iter == 8
    assert count_parameters(model.arch) == params
    assert type(model.pixel_loss).__name__ == 'SSIMLoss'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    max_iters, milestones = SCHEDULES[iters_per_epoch]
    assert cfg.param_scheduler == [dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
                                        milestones=milestones)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=max_iters,
                                 val_interval=iters_per_epoch)
    assert cfg.default_hooks.checkpoint.interval == iters_per_epoch
    assert cfg.total_batch_size == 12 and cfg.train_dataloader.batch_size == 12
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    pipeline = cfg.train_dataloader.dataset.pipeline
    expected = ['LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop',
                *(['PairedRandomFlip'] if flips else []), 'PackInputs']
    assert [t.type for t in pipeline] == expected
    assert pipeline[2].patch_size == 100
    if flips:
        assert pipeline[3].prob == 0.5 and pipeline[3].direction == 'horizontal'
    if name in RAIN200_BRN:
        dataset = 'Rain200H' if name.endswith('h.py') else 'Rain200L'
        assert cfg.train_dataloader.dataset.data_root == f'data/{dataset}'
        assert [(m.type, m.protocol, m.prefix) for m in cfg.test_evaluator] == [
            ('PSNR', 'restormer', dataset), ('SSIM', 'restormer', dataset)]
    if arch_type == 'AIDNet':
        expected_attention = ('se', 2) if name.endswith('rain100l.py') else ('cbam', 16)
        assert (cfg.model.arch.attention, cfg.model.arch.reduction) == expected_attention


@pytest.mark.parametrize('name', sorted(set(BRN_FAMILY) - set(RAIN200_BRN)))
def test_brn_family_config_trains_at_tiny_size(name, tmp_path):
    """Two iterations of the config's own pipeline, loss, optimizer and lr steps with two
    stages (with one, the forget gates act on a zero cell and get no gradient), batch 2 and
    16x16 crops; every parameter moves, the lr drops by 0.2 after the (moved) milestone."""
    root = make_paired_folder(tmp_path / 'data', layout='rain100')
    cfg = Config.fromfile(CONFIGS / name)
    cfg.model.arch.recurrent_iter = 2
    cfg.param_scheduler[0].milestones = [1]
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(1e-3 * 0.2)]
