"""The DualGCN configs: one per set the release trained on, the model and recipe they build,
and a few training iterations at tiny size."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.testing import make_paired_folder, train_tiny

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


def test_config_trains_at_tiny_size(tmp_path):
    """Two iterations of the Rain200H config's pipeline, loss and optimizer with 16 channels,
    batch 2 and 16x16 crops, then validation: every parameter moves, the lr is still the
    constant 1e-4 (the cosine starts at 92K)."""
    torch.manual_seed(0)
    root = make_paired_folder(tmp_path / 'data')
    cfg = Config.fromfile(CONFIGS / 'dualgcn_rain200h.py')
    cfg.model.arch.channels = 16
    cfg.default_hooks.visualization.num_images = 0
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(1e-4)]


def test_released_layout_converts_into_image_restorer(tmp_path, capsys):
    """tools/convert_checkpoint.py on a file laid out like TrainedModel/model-<set>.index +
    .data (random values, channels 72): the restorer built from the config loads the result
    and computes what the arch with the converted weights computes. A file of another width
    is refused with exit status 2 and the option to pass."""
    import importlib.util

    from mmengine.runner import load_checkpoint

    from restorelab.models.converters import load_official_checkpoint
    from tests.fixtures.tf_checkpoint import write_tf_checkpoint
    from tests.fixtures.dualgcn_release import random_release_arrays

    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint_tool', CONFIGS.parents[1] / 'tools' / 'convert_checkpoint.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config = str(CONFIGS / 'dualgcn_spa_data.py')
    arrays = {k: v.astype(np.float32) for k, v in random_release_arrays(72).items()}
    index, _ = write_tf_checkpoint(tmp_path / 'model-SPA', arrays)
    dst = tmp_path / 'dualgcn_spa_data.pth'
    assert tool.main(['dualgcn', str(index), str(dst), '--check-config', config]) == 0
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['num_params'] == 2_731_071
    cfg = Config.fromfile(config)
    restorer = MODELS.build(cfg.model).eval()
    load_checkpoint(restorer, str(dst), map_location='cpu', strict=True)
    reference = MODELS.build(cfg.model.arch).eval()
    reference.load_state_dict(load_official_checkpoint(index, 'dualgcn'))
    x = torch.rand(1, 3, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(restorer(x, mode='tensor'), reference(x), rtol=0, atol=0)

    small = {k: v.astype(np.float32) for k, v in random_release_arrays(8).items()}
    index, _ = write_tf_checkpoint(tmp_path / 'model-small', small)
    capsys.readouterr()
    assert tool.main(['dualgcn', str(index), str(tmp_path / 'x.pth'), '--check-config', config]) == 2
    err = capsys.readouterr().err
    assert "The file holds dict(type='DualGCN', channels=8): pass a config whose model.arch is " \
           "that" in err
