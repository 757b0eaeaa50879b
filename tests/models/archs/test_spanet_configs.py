"""The SPANet configs: the release's model and recipe (stevewongv/SPANet main.py, dataset.py),
its loss written out, and a few training iterations at tiny size."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.models.losses.ssim_loss import gaussian_window
from restorelab.registry import MODELS
from restorelab.structures import DataSample
from restorelab.testing import make_paired_folder, train_tiny

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'
SPANET_CONFIGS = {'spanet/spanet_spa_data.py': 'SPA-Data', 'spanet/spanet_rain200h.py': 'Rain200H',
                  'spanet/spanet_rain200l.py': 'Rain200L'}

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors; a shared CPU


@pytest.mark.parametrize('name', sorted(SPANET_CONFIGS))
def test_spanet_recipe(name):
    cfg = Config.fromfile(CONFIGS / name)
    model = MODELS.build(cfg.model)
    assert cfg.model.arch == dict(type='SPANet', channels=32, num_head_blocks=3,
                                  num_attentive_stages=4, blocks_per_stage=3, num_tail_blocks=2,
                                  direction_attention=False)
    assert count_parameters(model.arch) == 283_716
    assert cfg.model.pixel_loss == dict(
        type='AttentionMaskLoss', mask_weight=1.0, loss=dict(
            type='CompositeLoss', losses=[dict(type='L1Loss'), dict(type='SSIMLoss')]))
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=5e-3)
    dataset = SPANET_CONFIGS[name]
    if dataset == 'SPA-Data':  # main.py's MultiStepLR(milestones=[30000]), stepped first
        assert cfg.param_scheduler == [dict(type='MultiStepLR', milestones=[29_999], gamma=0.1,
                                            by_epoch=False)]
    else:  # RecDerain's files: lr 5e-3 at step 40,000
        assert cfg.param_scheduler == []
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=40_001, val_interval=4_000)
    assert cfg.total_batch_size == 16 and cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'LoadImageFromFile',
                                          'PairedRandomResizedCrop', 'PackInputs']
    assert (pipeline[2].size, pipeline[2].scale, pipeline[2].ratio) == (256, (0.8, 1.0), (3 / 4, 4 / 3))
    assert cfg.train_dataloader.dataset.data_root == f'data/{dataset}'
    assert [(m.type, m.protocol, m.prefix) for m in cfg.test_evaluator] == [
        ('PSNR', 'restormer', dataset), ('SSIM', 'restormer', dataset)]


def release_ssim(a, b):
    """cal_ssim.py's SSIM: 11x11 Gaussian window (sigma 1.5), zero padding 5, mean of the map."""
    window = gaussian_window(11, 1.5)[None, None].expand(3, 1, 11, 11).to(a.dtype)

    def blur(x):
        return F.conv2d(x, window, padding=5, groups=3)

    mu1, mu2 = blur(a), blur(b)
    s1, s2, s12 = blur(a * a) - mu1 ** 2, blur(b * b) - mu2 ** 2, blur(a * b) - mu1 * mu2
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return (((2 * mu1 * mu2 + c1) * (2 * s12 + c2))
            / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))).mean()


def test_the_loss_is_the_release_loss_less_one():
    """main.py: l1(out, B) + (1 - ssim(out, B)) + l2(mask[:, 0], M), M = clip((O - B).sum(2), 0, 1)
    on the uint8 crops; restorelab's -SSIM leaves out the constant 1."""
    cfg = Config.fromfile(CONFIGS / 'spanet/spanet_spa_data.py')
    cfg.model.arch.update(channels=4, num_head_blocks=1, num_attentive_stages=1,
                          blocks_per_stage=1, num_tail_blocks=1)
    model = MODELS.build(cfg.model)
    rng = np.random.default_rng(0)
    clean8 = rng.integers(0, 256, size=(2, 12, 10, 3), dtype=np.uint8)
    rain8 = clean8.copy()
    rain8[:, ::3, :, 1] += 7  # some pixels differ in one channel (uint8 arithmetic)
    mask = np.clip((rain8 - clean8).sum(axis=3), 0, 1).astype(np.float32)  # the release's M
    rainy = torch.from_numpy(rain8).permute(0, 3, 1, 2).float() / 255
    clean = torch.from_numpy(clean8).permute(0, 3, 1, 2).float() / 255
    loss = model(rainy, [DataSample(gt_img=c) for c in clean], mode='loss')['loss_pix']
    out, attention = model.arch.forward_with_attention(rainy)
    release = (F.l1_loss(out, clean) + (1 - release_ssim(out, clean))
               + F.mse_loss(attention[:, 0], torch.from_numpy(mask)))
    torch.testing.assert_close(loss, release - 1, rtol=1e-5, atol=1e-6)
    assert 0 < mask.mean() < 1


def test_spanet_config_trains_at_tiny_size(tmp_path):
    """Two iterations of the SPA-Data config's loss, optimizer and lr step (on a Rain200H-layout
    folder) with 4 channels and one block per part, batch 2 of 16x16 resized crops: every
    parameter but the discarded direction attention moves, the lr drops by 0.1 after the (moved)
    milestone, a checkpoint is written and the test split is scored."""
    root = make_paired_folder(tmp_path / 'data')
    cfg = Config.fromfile(CONFIGS / 'spanet/spanet_spa_data.py')
    cfg.model.arch.update(channels=4, num_head_blocks=1, num_attentive_stages=1,
                          blocks_per_stage=1, num_tail_blocks=1)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.update(ann_file='', data_prefix=dict(img='train/input', gt='train/target'))
    cfg.val_dataloader.dataset.data_prefix = dict(img='test/input', gt='test/target')
    cfg.param_scheduler[0].milestones = [1]
    run = train_tiny(cfg, root, tmp_path / 'work')
    assert set(run.unchanged) == {k for k in run.before if k.startswith('SAM1.attention_layer.')}
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(5e-3 * 0.1)]
    scalars = run.runner.message_hub.log_scalars
    assert {'val/SPA-Data/PSNR', 'val/SPA-Data/SSIM'} <= set(scalars)
    assert 0 < scalars['val/SPA-Data/PSNR'].current() < 100
