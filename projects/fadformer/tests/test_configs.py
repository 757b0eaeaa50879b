"""The FADformer configs: the release's recipe (loss, optimizer, batch, crops, augmentation, per-epoch
cosine), the SPA-Data schedule against the release's, and a few training steps at tiny size."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import CosineAnnealingLR
from mmengine.registry import init_default_scope

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS, TRANSFORMS
from restorelab.testing import make_paired_folder, train_tiny

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / 'projects' / 'fadformer' / 'configs'
SETS = {  # config suffix: (dataset prefix, protocol, release epochs)
    'rain200h': ('Rain200H', 'restormer', 800),
    'rain200l': ('Rain200L', 'restormer', 800),
    'did_data': ('DID-Data', 'rcdnet', 500),
    'ddn_data': ('DDN-Data', 'rcdnet', 500),
    'spa_data': ('SPA-Data', 'restormer', None),
}


def load(name):
    return Config.fromfile(CONFIGS / f'fadformer_{name}.py')


@pytest.mark.parametrize('name', sorted(SETS))
def test_every_config_has_the_releases_model_loss_optimizer_and_loader(name):
    dataset, protocol, epochs = SETS[name]
    cfg = load(name)
    assert cfg.custom_imports == dict(imports=['projects.fadformer.fadformer'], allow_failed_imports=False)
    assert cfg.model.arch == dict(type='FADformer', in_channels=3, out_channels=3, dim=32, depths=[4, 8, 10, 8, 4])
    assert cfg.model.pixel_loss == dict(type='CompositeLoss', losses=[
        dict(type='L1Loss', loss_weight=1.0), dict(type='FrequencyContrastiveLoss', loss_weight=0.1, num_negatives=2)])
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.01, norm_type=2)
    assert cfg.total_batch_size == 12 and cfg.batch_size_per_process == 3 and cfg.train_dataloader.batch_size == 12
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PairedRandomFlip', 'PairedRandomRot90',
        'PackInputs']
    crop, flip, rot = cfg.train_dataloader.dataset.pipeline[2:5]
    assert crop.patch_size == 256 and (flip.prob, flip.direction) == (0.5, 'horizontal') and rot.ks == (0, 1, 2, 3)
    assert cfg.val_evaluator[0] == dict(type='PSNR', protocol=protocol, prefix=dataset)
    (sched,) = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.eta_min == 1e-5
    if epochs is not None:
        assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=epochs + 1, val_interval=1)
        assert (sched.T_max, sched.by_epoch, sched.begin, sched.end) == (epochs, True, 0, epochs + 1)
        assert cfg.train_dataloader.drop_last and cfg.train_dataloader.sampler == dict(type='DefaultSampler',
                                                                                       shuffle=True)


def test_model_builds_at_full_size():
    model = MODELS.build(load('rain200h').model)
    assert type(model.arch).__name__ == 'FADformer' and count_parameters(model.arch) == 7_435_737
    assert type(model.pixel_loss.losses[1]).__name__ == 'FrequencyContrastiveLoss' and model.pixel_loss.takes_inputs


@pytest.mark.parametrize('epochs', [800, 500])
def test_lr_per_epoch_is_the_releases(epochs):
    """The release: CosineAnnealingLR(T_max=epochs, eta_min=1e-5) stepped after each of its epochs + 1
    epochs (PyTorch's scheduler); here mmengine's, stepped by the runner after each epoch."""
    cfg = load('rain200h' if epochs == 800 else 'did_data')
    param = torch.nn.Parameter(torch.zeros(1))
    release_opt = torch.optim.AdamW([param], lr=1e-3)
    release = torch.optim.lr_scheduler.CosineAnnealingLR(release_opt, T_max=epochs, eta_min=1e-5)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr)
    wrapper = OptimWrapper(optimizer)
    (sched,) = cfg.param_scheduler
    ours = CosineAnnealingLR(wrapper, **{k: v for k, v in sched.items() if k != 'type'})
    used = []
    for epoch in range(cfg.train_cfg.max_epochs):
        assert optimizer.param_groups[0]['lr'] == pytest.approx(release_opt.param_groups[0]['lr'], rel=1e-9), epoch
        used.append(optimizer.param_groups[0]['lr'])
        release_opt.step()
        release.step()
        wrapper.step()
        ours.step()
    assert len(used) == epochs + 1 and used[0] == 1e-3 and used[-1] == pytest.approx(1e-5, rel=1e-9)


def test_spa_schedule_stays_within_8e_6_of_the_releases():
    """train_spa.py: 7 passes of 638,492 // 12 steps, CosineAnnealingLR(T_max=318) stepped after every
    1000th step of a pass; here one cosine per step with T_max = 318,000 over the same steps."""
    cfg = load('spa_data')
    (sched,) = cfg.param_scheduler
    assert (sched.T_max, sched.by_epoch, sched.begin, sched.end) == (318_000, False, 0, 372_449)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=372_449, val_interval=159_621,
                                 dynamic_intervals=[(159_621, 1000)])
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    release = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=318, eta_min=1e-5)
    lrs = []
    for _ in range(7):
        for step in range(1, 53_208):
            lrs.append(opt.param_groups[0]['lr'])
            if step % 1000 == 0:
                opt.step()
                release.step()
    t = np.arange(len(lrs))
    ours = 1e-5 + (1e-3 - 1e-5) * (1 + np.cos(np.pi * t / sched.T_max)) / 2  # mmengine's cosine, closed form
    assert len(lrs) == sched.end and np.abs(np.array(lrs) - ours).max() < 8e-6


def test_augmentation_is_the_releases_flip_then_rotation():
    """augment(): np.flip(axis=1) with p = 0.5, then np.rot90(k, (0, 1)) for k uniform in 0..3."""
    cfg = load('rain200h')
    init_default_scope('restorelab')
    flip, rot = (TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline[3:5])
    rng = np.random.default_rng(0)
    rain, gt = rng.random((4, 6, 3)), rng.random((4, 6, 3))
    seen = set()
    np.random.seed(0)
    for _ in range(64):
        out = rot.transform(flip.transform(dict(img=rain.copy(), gt=gt.copy())))
        flipped, k = out['flip'][-1] == 'horizontal', out['rot90']
        for key, image in (('img', rain), ('gt', gt)):
            expected = np.rot90(np.flip(image, axis=1) if flipped else image, k, (0, 1))
            np.testing.assert_array_equal(out[key], expected)
        seen.add((flipped, k))
    assert len(seen) == 8


def test_config_trains_at_tiny_size(tmp_path):
    """Two epochs of one batch of two 16x16 crops with the config's pipeline, loss (L1 + 0.1 FCR),
    optimizer, clipping and per-epoch cosine on a tiny FADformer; the last epoch validates and saves."""
    root = make_paired_folder(tmp_path / 'data', n_train=2, size=(24, 32))
    cfg = load('rain200h')
    cfg.model.arch.update(dim=8, depths=[1, 1, 1, 1, 1])
    cfg.param_scheduler[0].update(T_max=1, end=2)
    cfg.default_hooks.visualization = dict(type='ComparisonVisualizationHook', num_images=0)
    cfg.default_hooks.checkpoint.save_best = None  # one save (each formats the config)
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert 'layer3.blocks.0.mixer.fusion.fourier_unit.conv_layer.weight' in run.moved
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(1e-5)]  # the cosine's end after epoch 1
    assert math.isfinite(run.runner.message_hub.get_scalar('train/loss').current())
    assert 'val/Rain200H/PSNR' in run.runner.message_hub.log_scalars


def test_mini_config_is_the_releases_second_variant_and_recipe():
    """configs/rain200/FADformer_mini.json: batch 8, 300 epochs; FADformer_mini(): dim 24, depths 2-3-4-3-2."""
    cfg = load('mini_rain200h')
    assert cfg.model.arch == dict(type='FADformer', in_channels=3, out_channels=3, dim=24, depths=[2, 3, 4, 3, 2])
    assert cfg.total_batch_size == 8 and cfg.batch_size_per_process == 2 and cfg.train_dataloader.batch_size == 8
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=301, val_interval=1)
    (sched,) = cfg.param_scheduler
    assert (sched.T_max, sched.eta_min, sched.by_epoch, sched.end) == (300, 1e-5, True, 301)
    assert cfg.model.pixel_loss == load('rain200h').model.pixel_loss
    assert count_parameters(MODELS.build(cfg.model).arch) == 1_816_485
