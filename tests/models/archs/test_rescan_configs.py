"""The RESCAN configs: the release's model and recipe (XiaLiPKU/RESCAN config/settings.py and
train.py), its stage-summed MSE, and a few training iterations at tiny size."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.structures import DataSample
from restorelab.testing import make_paired_folder, train_tiny

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'
RESCAN_CONFIGS = {'rescan/rescan_rain200h.py': 'Rain200H', 'rescan/rescan_rain200l.py': 'Rain200L'}

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors; a shared CPU


@pytest.mark.parametrize('name', sorted(RESCAN_CONFIGS))
def test_rescan_recipe(name):
    cfg = Config.fromfile(CONFIGS / name)
    model = MODELS.build(cfg.model)
    assert cfg.model.arch == dict(type='RESCAN', unit='ConvGRU', prediction='full', num_stages=4,
                                  depth=7, channels=24, use_se=True)
    assert count_parameters(model.arch) == 149_823
    assert cfg.model.pixel_loss == dict(type='MultiStageLoss', loss=dict(type='MSELoss'))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=5e-3)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', milestones=[14_999, 17_499],
                                        gamma=0.1, by_epoch=False)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=20_000, val_interval=2_000)
    assert cfg.default_hooks.checkpoint.interval == 2_000
    assert cfg.total_batch_size == 64 and cfg.train_dataloader.batch_size == 64
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'LoadImageFromFile',
                                          'PairedRandomCrop', 'PackInputs']
    assert pipeline[2].patch_size == 64
    dataset = RESCAN_CONFIGS[name]
    assert cfg.train_dataloader.dataset.data_root == f'data/{dataset}'
    assert [(m.type, m.protocol, m.prefix) for m in cfg.test_evaluator] == [
        ('PSNR', 'restormer', dataset), ('SSIM', 'restormer', dataset)]


def test_the_loss_is_the_release_sum_of_stage_mses_on_the_rain():
    """sum_s MSE(R_s, O - B) with R_s = O - B_s, as the release's train.py computes it."""
    cfg = Config.fromfile(CONFIGS / 'rescan/rescan_rain200h.py')
    cfg.model.arch.update(depth=4, channels=6)
    model = MODELS.build(cfg.model)
    gen = torch.Generator().manual_seed(0)
    rainy, clean = torch.rand(2, 3, 12, 10, generator=gen), torch.rand(2, 3, 12, 10, generator=gen)
    samples = [DataSample(gt_img=c) for c in clean]
    loss = model(rainy, samples, mode='loss')['loss_pix']
    rain_estimates = [rainy - b for b in model.arch.forward_stages(rainy)]
    release_loss = sum(F.mse_loss(r, rainy - clean) for r in rain_estimates)
    assert len(rain_estimates) == 4
    torch.testing.assert_close(loss, release_loss, rtol=1e-6, atol=1e-7)


def test_rescan_config_trains_at_tiny_size(tmp_path):
    """Two iterations of the config's pipeline, loss, optimizer and lr steps with two stages
    (with one, the units' hidden-state convolutions get no gradient), depth 4, 6 channels,
    batch 2 of 16x16 crops: every parameter moves, the lr drops by 0.1 after the (moved)
    milestone, a checkpoint is written and the test split is scored."""
    root = make_paired_folder(tmp_path / 'data')
    cfg = Config.fromfile(CONFIGS / 'rescan/rescan_rain200h.py')
    cfg.model.arch.update(num_stages=2, depth=4, channels=6)
    cfg.param_scheduler[0].milestones = [1]
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(5e-3 * 0.1)]
    scalars = run.runner.message_hub.log_scalars
    assert {'val/Rain200H/PSNR', 'val/Rain200H/SSIM'} <= set(scalars)
    assert 0 < scalars['val/Rain200H/PSNR'].current() < 100
