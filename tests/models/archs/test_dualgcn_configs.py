"""The DualGCN configs: one per set the release trained on, the model and recipe they build,
and a few training iterations at tiny size."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.utils.image_io import imwrite_rgb

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'dualgcn'
# The release's TrainedModel/model-<set> files, one per set: config -> (dataset, protocol)
SETS = {
    'dualgcn_rain200h.py': ('Rain200H', 'restormer'),
    'dualgcn_rain200l.py': ('Rain200L', 'restormer'),
    'dualgcn_did_data.py': ('DID-Data', 'rcdnet'),
    'dualgcn_ddn_data.py': ('DDN-Data', 'rcdnet'),
    'dualgcn_spa_data.py': ('SPA-Data', 'restormer'),
}


def test_one_config_per_released_set():
    assert sorted(p.name for p in CONFIGS.glob('dualgcn_*.py')) == sorted(SETS)


@pytest.mark.parametrize('name', sorted(SETS))
def test_config_builds_the_release_model_and_recipe(name):
    cfg = Config.fromfile(CONFIGS / name)
    dataset, protocol = SETS[name]
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == 'DualGCN' and model.arch.channels == 72
    assert count_parameters(model.arch) == 2_731_071
    assert type(model.pixel_loss).__name__ == 'L1Loss'
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                                               weight_decay=1e-4)
    assert 'clip_grad' not in cfg.optim_wrapper
    assert cfg.param_scheduler == [dict(type='CosineAnnealingLR', T_max=208_000, eta_min=1e-6,
                                        by_epoch=False, begin=92_000, end=300_000)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=300_000, val_interval=5000)
    loader = cfg.train_dataloader
    assert loader.batch_size == 8 and loader.sampler.type == 'InfiniteSampler'
    pipeline = loader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'LoadImageFromFile',
                                          'PairedRandomCrop', 'PairedRandomFlip',
                                          'PairedRandomFlip', 'PackInputs']
    assert pipeline[2].patch_size == 128
    assert [(t.direction, t.prob) for t in pipeline[3:5]] == [('vertical', 0.5), ('horizontal', 0.5)]
    assert [(m.prefix, m.protocol) for m in cfg.test_evaluator] == [(dataset, protocol)] * 2


def make_rain200_folder(root, size=(20, 24)):
    """Rain200H layout (train|test / input|target, same file names)."""
    rng = np.random.default_rng(0)
    for split, n in (('train', 3), ('test', 1)):
        for i in range(1, n + 1):
            clean = rng.integers(40, 200, size=(*size, 3), dtype=np.uint8)
            rain = np.clip(clean.astype(int) + 60 * (rng.random(size) < 0.1)[..., None], 0, 255)
            imwrite_rgb(str(root / split / 'target' / f'{i}.png'), clean)
            imwrite_rgb(str(root / split / 'input' / f'{i}.png'), rain.astype(np.uint8))
    return root


def test_config_trains_at_tiny_size(tmp_path):
    """Two iterations of the Rain200H config's pipeline, loss and optimizer with 16 channels,
    batch 2 and 16x16 crops, then validation: every parameter moves, the lr is still the
    constant 1e-4 (the cosine starts at 92K)."""
    torch.manual_seed(0)
    root = make_rain200_folder(tmp_path / 'data')
    cfg = Config.fromfile(CONFIGS / 'dualgcn_rain200h.py')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.arch.channels = 16
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = str(root)
        loader.num_workers, loader.persistent_workers = 0, False
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[2].patch_size = 16
    cfg.train_cfg.max_iters, cfg.train_cfg.val_interval = 2, 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.visualization.num_images = 0
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.arch.named_parameters()}
    runner.train()
    unchanged = [k for k, v in runner.model.arch.named_parameters() if torch.equal(before[k], v)]
    assert not unchanged
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(1e-4)]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
