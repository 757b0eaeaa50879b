"""The NeRD-Rain configs: the release's recipe for every set and both variants, its per-epoch learning
rate, and a tiny training run of the config's own pipeline, loss and schedule."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from projects.nerd_rain.nerd_rain import WarmupCosineLR
from restorelab.testing import make_paired_folder, train_tiny

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / 'projects' / 'nerd_rain' / 'configs'
SETS = {  # config suffix: (dataset, protocol)
    'rain200l': ('Rain200L', 'restormer'),
    'rain200h': ('Rain200H', 'restormer'),
    'did_data': ('DID-Data', 'rcdnet'),
    'ddn_data': ('DDN-Data', 'rcdnet'),
    'spa_data': ('SPA-Data', 'restormer'),
}
RELEASE_LOSS = dict(type='MultiScaleLoss', num_levels=3, terms=[
    dict(outputs=[2, 3, 4], loss=dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3)),
    dict(outputs=[2, 3, 4], loss=dict(type='FFTLoss', loss_weight=0.01)),
    dict(outputs=[2, 3, 4], loss=dict(type='EdgeLoss', loss_weight=0.05, eps=1e-3)),
    dict(outputs=[0, 1], loss=dict(type='L1Loss', loss_weight=0.1)),
])


@pytest.mark.parametrize('variant,dim', [('nerd_rain', 48), ('nerd_rain_s', 32)])
@pytest.mark.parametrize('suffix', sorted(SETS))
def test_dataset_configs(variant, dim, suffix):
    dataset, protocol = SETS[suffix]
    cfg = Config.fromfile(CONFIGS / f'{variant}_{suffix}.py')
    assert cfg.custom_imports == dict(imports=['projects.nerd_rain.nerd_rain'], allow_failed_imports=False)
    assert cfg.model.arch == dict(type='NeRDRain', dim=dim, num_blocks=[2, 3, 3], heads=[1, 2, 4],
                                  ffn_expansion_factor=2.66, bias=False, LayerNorm_type='WithBias')
    assert cfg.model.pixel_loss == RELEASE_LOSS
    assert cfg.find_unused_parameters is True
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=3000, val_interval=1)
    loader = cfg.train_dataloader
    assert loader.batch_size == 1 and loader.sampler == dict(type='DefaultSampler', shuffle=True)
    assert loader.dataset.pipeline[2] == dict(type='PairedRandomCrop', patch_size=256)
    assert [len(case) for case in loader.dataset.pipeline[3].transforms] == [0, 1, 1, 1, 1, 1, 2, 2, 0]
    assert [(e.type, e.protocol, e.prefix) for e in cfg.val_evaluator] == [
        ('PSNR', protocol, dataset), ('SSIM', protocol, dataset)]


def release_lrs(epochs=3000, warmup=3, base=1e-4, eta_min=1e-6):
    """train.py's lr for epochs 1..epochs with torch's own schedulers: GradualWarmupScheduler
    (multiplier 1) written out -- base * last_epoch / warmup while last_epoch <= warmup, then the
    after-scheduler, a CosineAnnealingLR(T_max=epochs - warmup) built before it on the optimizer,
    which it steps from the epoch after -- stepped after every epoch, never before the first."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=base)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs - warmup, eta_min=eta_min)
    lrs, last_epoch, finished = [], 0, False
    for group in optimizer.param_groups:
        group['lr'] = base * 0 / warmup  # GradualWarmupScheduler's initial step (last_epoch 0)
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        last_epoch += 1  # GradualWarmupScheduler.step()
        if last_epoch <= warmup:
            optimizer.param_groups[0]['lr'] = base * last_epoch / warmup
        elif not finished:  # the first epoch past the warm-up: the cosine's value at its step 0
            finished = True
            optimizer.param_groups[0]['lr'] = cosine.get_last_lr()[0]
        else:
            cosine.step()
    return lrs


def test_lr_per_epoch_is_the_releases():
    cfg = Config.fromfile(CONFIGS / 'nerd_rain_rain200h.py')
    (sched,) = cfg.param_scheduler
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr)
    wrapper = OptimWrapper(optimizer)
    scheduler = WarmupCosineLR(wrapper, **{k: v for k, v in sched.items() if k != 'type'})
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        wrapper.step()
        scheduler.step()  # mmengine's ParamSchedulerHook after each epoch
    assert lrs[:6] == pytest.approx([0, 1e-4 / 3, 2e-4 / 3, 1e-4, 1e-4,
                                     1e-6 + 99e-6 * (1 + math.cos(math.pi / 2997)) / 2], rel=1e-12, abs=0)
    assert lrs == pytest.approx(release_lrs(), rel=1e-9, abs=0)
    assert lrs[-1] == pytest.approx(1e-6 + 99e-6 * (1 + math.cos(math.pi * 2995 / 2997)) / 2, rel=1e-12)


def test_scheduler_argument_errors():
    optimizer = OptimWrapper(torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0))
    with pytest.raises(ValueError, match='warmup must be an int >= 1'):
        WarmupCosineLR(optimizer, warmup=0, T_max=10)
    with pytest.raises(ValueError, match='T_max must be > 0'):
        WarmupCosineLR(optimizer, warmup=3, T_max=0)


def test_config_trains_at_tiny_size(tmp_path):
    """Two epochs of one batch of the config's own pipeline, multi-scale loss, optimizer and schedule
    with a tiny NeRD-Rain and 16x16 crops: the first epoch trains at lr 0 (nothing moves), the second
    at 1e-4 / 3 (every parameter moves but the release's unused 1x1 conv); the last epoch validates
    on a 24x20 image (padded to 32x32) and saves a checkpoint."""
    root = make_paired_folder(tmp_path / 'data', n_train=2, size=(24, 20))
    # Unformatted config text in the log, the work dir and the checkpoint: mmengine's yapf
    # formatting of this config takes seconds each time, most of this test's time otherwise
    # (Config.fromfile drops its format_python_code argument for non-lazy configs: mmengine 0.10.7).
    cfg = Config(Config.fromfile(CONFIGS / 'nerd_rain_rain200h.py').to_dict(), format_python_code=False)
    cfg.model.arch.update(dim=8, num_blocks=[1, 1, 1], heads=[1, 1, 2], inr_hidden=[16, 16])
    cfg.default_hooks.visualization = dict(type='ComparisonVisualizationHook', num_images=0)
    cfg.default_hooks.checkpoint.save_best = None
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert run.unchanged == ['scale3.unets.2.reduce_chan_level1.weight']
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(2e-4 / 3)]
