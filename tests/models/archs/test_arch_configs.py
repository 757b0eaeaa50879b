"""The Restormer and PReNet configs build their models with the release's recipe."""
from pathlib import Path

import pytest
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS

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
