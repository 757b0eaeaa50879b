"""The DRSformer configs: the release's settings, and the lr schedule of its CosineAnnealingRestartCyclicLR."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import CosineAnnealingLR

ROOT = Path(__file__).resolve().parents[3]
PROJECT_CONFIGS = {
    'rain200l': ('Rain200L', 'restormer', False),
    'rain200h': ('Rain200H', 'restormer', True),
    'did_data': ('DID-Data', 'rcdnet', True),
    'ddn_data': ('DDN-Data', 'rcdnet', True),
    'spa_data': ('SPA-Data', 'restormer', False),
}


@pytest.mark.parametrize('name', sorted(PROJECT_CONFIGS))
def test_dataset_configs(name):
    dataset, protocol, use_mefc = PROJECT_CONFIGS[name]
    cfg = Config.fromfile(ROOT / 'projects' / 'drsformer' / 'configs' / f'drsformer_{name}.py')
    assert cfg.custom_imports == dict(imports=['projects.drsformer.drsformer'], allow_failed_imports=False)
    assert cfg.model.arch.type == 'DRSformer' and cfg.model.arch.use_mefc is use_mefc
    assert cfg.model.pixel_loss == dict(type='L1Loss', loss_weight=1.0)
    assert cfg.total_batch_size == 16 and cfg.train_dataloader.batch_size == 16
    assert cfg.val_evaluator[0] == dict(type='PSNR', protocol=protocol, prefix=dataset)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.01, norm_type=2)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=1000)


def test_entry_point_is_the_rain200h_project_config():
    entry = Config.fromfile(ROOT / 'configs' / 'drsformer_rain200h.py')
    project = Config.fromfile(ROOT / 'projects' / 'drsformer' / 'configs' / 'drsformer_rain200h.py')
    assert entry.to_dict() == project.to_dict()


def release_lr(t, periods=(92000, 208000), eta_mins=(3e-4, 1e-6), base_lr=3e-4):
    """BasicSR's CosineAnnealingRestartCyclicLR (restart weights 1) at scheduler step t."""
    ends = [sum(periods[:i + 1]) for i in range(len(periods))]
    idx = next(i for i, end in enumerate(ends) if t <= end)
    start = 0 if idx == 0 else ends[idx - 1]
    return eta_mins[idx] + 0.5 * (base_lr - eta_mins[idx]) * (1 + math.cos(math.pi * (t - start) / periods[idx]))


def test_schedule_follows_the_release_scaled_down():
    """The config's schedule with every length divided by 1000 matches the release formula with the same
    division at every iteration (the lr used by 0-based iteration t is the scheduler's value after t steps
    in both)."""
    cfg = Config.fromfile(ROOT / 'projects' / 'drsformer' / 'configs' / 'drsformer_rain200h.py')
    (sched,) = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.by_epoch is False
    scale = 1000
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], **{
        k: v for k, v in cfg.optim_wrapper.optimizer.items() if k != 'type'})
    scheduler = CosineAnnealingLR(optimizer, T_max=sched.T_max // scale, eta_min=sched.eta_min, by_epoch=False,
                                  begin=sched.begin // scale, end=sched.end // scale)
    periods = (92000 // scale, 208000 // scale)  # the release's, not read from the config
    assert cfg.train_cfg.max_iters == sched.end == sum(periods) * scale
    for t in range(cfg.train_cfg.max_iters // scale):
        assert optimizer.param_groups[0]['lr'] == pytest.approx(release_lr(t, periods), rel=1e-9, abs=1e-15), t
        optimizer.step()
        scheduler.step()
    assert release_lr(300000) == pytest.approx(1e-6) and release_lr(92000) == pytest.approx(3e-4)
