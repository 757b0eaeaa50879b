"""The SPDNet configs build the release's model and recipe; one trains a few steps at tiny size."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.structures import DataSample
from restorelab.testing import make_paired_folder, train_tiny

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'spdnet'
# config -> (iterations per epoch, dataset prefix): the release's repeat rule, batch 16.
SETS = {
    'spdnet_rain200h.py': (900, 'Rain200H'),
    'spdnet_rain200l.py': (900, 'Rain200L'),
    'spdnet_did_data.py': (750, 'DID-Data'),
    'spdnet_ddn_data.py': (788, 'DDN-Data'),
    'spdnet_spa_data.py': (39_906, 'SPA-Data'),
}


@pytest.mark.parametrize('name', sorted(SETS))
def test_spdnet_recipe(name):
    iters_per_epoch, prefix = SETS[name]
    cfg = Config.fromfile(CONFIGS / name)
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == 'SPDNet' and count_parameters(model.arch) == 2_981_525
    assert (model.arch.n_feats, model.arch.n_resblocks, model.arch.rgb_range) == (32, 3, 255.0)
    assert type(model.pixel_loss).__name__ == 'MultiStageLoss' and model.pixel_loss.stage_weights is None
    assert type(model.pixel_loss.loss).__name__ == 'MSELoss'
    assert model.pixel_loss.loss.loss_weight == 255.0 ** 2
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=5e-4, betas=(0.9, 0.999), eps=1e-8,
                                               weight_decay=0)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', gamma=0.5, by_epoch=False, milestones=[
        e * iters_per_epoch for e in (100, 150, 200, 230, 260, 280)])]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=300 * iters_per_epoch,
                                 val_interval=iters_per_epoch)
    assert cfg.default_hooks.checkpoint.interval == iters_per_epoch
    loader = cfg.train_dataloader
    assert cfg.total_batch_size == 16 and loader.batch_size == 16
    assert loader.sampler.type == 'InfiniteSampler'
    assert [t.type for t in loader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PairedRandomFlip', 'PackInputs']
    crop, flip = loader.dataset.pipeline[2:4]
    assert crop.patch_size == 128 and (flip.prob, flip.direction) == (0.5, 'horizontal')
    assert cfg.test_evaluator == cfg.val_evaluator == [
        dict(type=m, protocol='rcdnet', prefix=prefix) for m in ('PSNR', 'SSIM')]


@pytest.mark.usefixtures('single_thread')
def test_spdnet_loss_is_the_release_loss():
    """The config's loss on [0, 1] images is the release's: MSE of each of the three estimates
    against the ground truth on [0, 255] pixels, summed (trainer.py)."""
    cfg = Config.fromfile(CONFIGS / 'spdnet_rain200h.py')
    cfg.model.arch.update(n_feats=4, n_resblocks=1)
    model = MODELS.build(cfg.model)
    gen = torch.Generator().manual_seed(0)
    inputs, gt = torch.rand(2, 3, 12, 10, generator=gen), torch.rand(2, 3, 12, 10, generator=gen)
    samples = [DataSample(gt_img=g) for g in gt]
    loss = model(inputs, samples, mode='loss')['loss_pix']
    release = sum(F.mse_loss(out * 255, gt * 255) for out in model.arch.forward_stages(inputs))
    torch.testing.assert_close(loss, release, rtol=1e-5, atol=0)


@pytest.mark.usefixtures('single_thread')
def test_spdnet_config_trains_at_tiny_size(tmp_path):
    """Two iterations of the Rain200H config's pipeline, three-estimate MSE, Adam and lr steps
    with a tiny SPDNet (8 features, 1 block per group), batch 2 and 16x16 crops: every
    parameter moves, the lr halves after the (moved) milestone, a checkpoint is written."""
    root = make_paired_folder(tmp_path / 'data')
    cfg = Config.fromfile(CONFIGS / 'spdnet_rain200h.py')
    cfg.model.arch.update(n_feats=8, n_resblocks=1)
    cfg.param_scheduler[0].milestones = [1]
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(5e-4 * 0.5)]
