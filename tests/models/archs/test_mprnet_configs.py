"""configs/mprnet: the release's deraining recipe (loss over the stages, Adam, per-epoch warm-up +
cosine, batch, crops, the nine augmentation cases) and a few training steps at tiny size."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
from mmengine.registry import init_default_scope

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS, TRANSFORMS
from restorelab.testing import make_paired_folder, train_tiny

pytestmark = pytest.mark.usefixtures('single_thread')

CONFIG = Path(__file__).resolve().parents[3] / 'configs' / 'mprnet' / 'mprnet_rain13k.py'


def test_rain13k_config_builds_the_release_model_and_loss():
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == 'MPRNet' and count_parameters(model.arch) == 3_637_249
    assert cfg.model.pixel_loss == dict(type='MultiStageLoss', loss=dict(type='CompositeLoss', losses=[
        dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3), dict(type='EdgeLoss', loss_weight=0.05, eps=1e-3)]))
    assert [type(loss).__name__ for loss in model.pixel_loss.loss.losses] == ['CharbonnierLoss', 'EdgeLoss']
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8)
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=250, val_interval=5)
    loader = cfg.train_dataloader
    assert cfg.total_batch_size == 16 and loader.batch_size == 16
    assert loader.sampler == dict(type='DefaultSampler', shuffle=True)
    assert loader.dataset.data_root == 'data/Rain13K'
    assert loader.dataset.data_prefix == dict(img='train/input', gt='train/target')
    assert [t.type for t in loader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'RandomChoice', 'PackInputs']
    assert loader.dataset.pipeline[2].patch_size == 256
    assert cfg.val_dataloader.dataset.data_prefix == dict(img='test/Rain100L/input', gt='test/Rain100L/target')
    assert [(e.type, e.protocol, e.prefix) for e in cfg.val_evaluator] == [
        ('PSNR', 'restormer', 'Rain100L'), ('SSIM', 'restormer', 'Rain100L')]


def test_lr_per_epoch_is_the_releases():
    """GradualWarmupScheduler(multiplier 1, 3 epochs) then CosineAnnealingLR(247, 1e-6), stepped
    once before training and after each epoch: epoch e (from 1) at 2e-4 e / 3 for e <= 3, then
    1e-6 + (2e-4 - 1e-6)(1 + cos(pi (e - 4) / 247)) / 2."""
    cfg = Config.fromfile(CONFIG)
    release = [2e-4 * e / 3 if e <= 3 else 1e-6 + (2e-4 - 1e-6) * (1 + math.cos(math.pi * (e - 4) / 247)) / 2
               for e in range(1, 251)]
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr)
    wrapper = OptimWrapper(optimizer)
    kinds = dict(LinearLR=LinearLR, CosineAnnealingLR=CosineAnnealingLR)
    schedulers = [kinds[s.type](wrapper, **{k: v for k, v in s.items() if k != 'type'}) for s in cfg.param_scheduler]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        wrapper.step()  # the epoch's updates (no gradients here), then the schedulers
        for scheduler in schedulers:  # mmengine's ParamSchedulerHook after each epoch
            scheduler.step()
    assert lrs == pytest.approx(release, rel=1e-9, abs=0)
    assert lrs[:4] == pytest.approx([2e-4 / 3, 4e-4 / 3, 2e-4, 2e-4], rel=1e-12)


def test_augmentation_is_the_releases_nine_cases():
    """Each of the nine RandomChoice branches is the release's case aug = 0..8 of
    dataset_RGB.py, written on its CHW tensors; every branch equally likely."""
    cfg = Config.fromfile(CONFIG)
    choice = cfg.train_dataloader.dataset.pipeline[3]
    assert 'prob' not in choice and len(choice.transforms) == 9
    release = [
        lambda t: t,
        lambda t: t.flip(1),
        lambda t: t.flip(2),
        lambda t: torch.rot90(t, dims=(1, 2)),
        lambda t: torch.rot90(t, dims=(1, 2), k=2),
        lambda t: torch.rot90(t, dims=(1, 2), k=3),
        lambda t: torch.rot90(t.flip(1), dims=(1, 2)),
        lambda t: torch.rot90(t.flip(2), dims=(1, 2)),
        lambda t: t,
    ]
    init_default_scope('restorelab')
    rng = np.random.default_rng(0)
    rain, gt = rng.random((4, 6, 3)), rng.random((4, 6, 3))  # HWC, not square
    for branch, case in zip(choice.transforms, release):
        results = dict(img=rain.copy(), gt=gt.copy())
        for t in branch:
            results = TRANSFORMS.build(t).transform(results)
        for key, image in (('img', rain), ('gt', gt)):
            expected = case(torch.from_numpy(image).permute(2, 0, 1)).permute(1, 2, 0).numpy()
            np.testing.assert_array_equal(results[key], expected)


def test_config_trains_at_tiny_size(tmp_path):
    """Two epochs of one batch of the config's own pipeline, loss over the stages, optimizer and
    warm-up with a tiny MPRNet and 16x16 crops; every parameter moves, the lr follows the
    warm-up, the last epoch validates and saves a checkpoint."""
    root = make_paired_folder(tmp_path / 'data', n_train=2, size=(24, 32), test_split='test/Rain100L')
    cfg = Config.fromfile(CONFIG)
    # reduction 1: channel attention wide enough that no squeeze unit starts dead at this size
    cfg.model.arch.update(n_feat=8, scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1, reduction=1)
    cfg.default_hooks.visualization = dict(type='ComparisonVisualizationHook', num_images=0)
    # One checkpoint: each save formats the whole config (mmengine's yapf), seconds apiece.
    cfg.default_hooks.checkpoint.save_best = None
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(2e-4)]  # after epochs at 1/3, 2/3
    assert 'val/Rain100L/PSNR' in run.runner.message_hub.log_scalars
