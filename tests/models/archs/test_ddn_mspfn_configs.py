"""The DDN and MSPFN configs build their models with the releases' recipes and train a few
steps at tiny size."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.registry import MODELS
from restorelab.testing import make_paired_folder, rainy_pair, train_tiny
from restorelab.utils.image_io import imwrite_rgb

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'

pytestmark = pytest.mark.usefixtures('single_thread')


def test_ddn_recipe():
    cfg = Config.fromfile(CONFIGS / 'ddn/ddn_ddn_data.py')
    model = MODELS.build(cfg.model)
    assert type(model.arch).__name__ == 'DDN' and count_parameters(model.arch) == 57_369
    assert type(model.pixel_loss).__name__ == 'MSELoss'
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', milestones=[100_000, 200_000], gamma=0.1,
                                        by_epoch=False)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=210_000, val_interval=10_000)
    loader = cfg.train_dataloader
    assert loader.batch_size == 20 and loader.dataset.data_root == 'data/DDN-Data'
    assert [t.type for t in loader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PackInputs']
    assert loader.dataset.pipeline[2].patch_size == 64
    assert [m.protocol for m in cfg.test_evaluator] == ['rcdnet', 'rcdnet']


@pytest.mark.parametrize('name, caus, params', [('mspfn/mspfn_rain13k.py', (3, 3, 1), 20_995_776),
                                                ('mspfn/mspfn_m17n1_rain13k.py', (1, 1, 1), 15_823_424)])
def test_mspfn_recipe(name, caus, params):
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.model.arch == dict(type='MSPFN', num_ffms=17, num_caus=caus)
    if caus == (1, 1, 1):  # one full-size build suffices to count (the other is counted in test_mspfn)
        assert count_parameters(MODELS.build(cfg.model.arch)) == params
    assert cfg.model.pixel_loss == dict(type='CompositeLoss', losses=[
        dict(type='CharbonnierLoss', eps=5e-4, loss_weight=2.0),
        dict(type='Laplacian3x3EdgeLoss', eps=5e-4, loss_weight=0.1)])
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=5e-4 + 1e-6, betas=(0.9, 0.999), eps=1e-8)
    assert cfg.param_scheduler == [dict(type='ExponentialDecayToFloorLR', decay_rate=0.8,
                                        decay_steps=20_000, floor=1e-6, by_epoch=False)]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=560_000, val_interval=20_000)
    loader = cfg.train_dataloader
    assert loader.batch_size == 12 and loader.dataset.data_root == 'data/Rain13K'
    assert [t.type for t in loader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop', 'PairedRandomRot90',
        'PairedRandomFlip', 'PackInputs']
    assert loader.dataset.pipeline[2].patch_size == 96
    for loader in (cfg.val_dataloader, cfg.test_dataloader):  # validated on Rain100L
        assert loader.dataset.data_root == 'data/Rain13K'
        assert loader.dataset.data_prefix == dict(img='test/Rain100L/input', gt='test/Rain100L/target')


def release_loss(x, imitation):
    """MSPFN's MODEL.inference_losses on images in [-1, 1] (NHWC there, NCHW here): Charbonnier
    of the error + 0.05 x Charbonnier of the difference of Laplacians, whose filter is the
    release's (3, 3, 3, 3) constant: -1 around 8 on each channel's diagonal, 'SAME' padding."""
    def charbonnier(a, b):
        return torch.sqrt((a - b) ** 2 + 1e-3 ** 2).mean()

    kernel = -torch.ones(3, 3, dtype=x.dtype)
    kernel[1, 1] = 8
    weight = torch.zeros(3, 3, 3, 3, dtype=x.dtype)  # (out, in, kh, kw): zero across channels
    for c in range(3):
        weight[c, c] = kernel

    def laplacian(img):
        return torch.nn.functional.conv2d(img, weight, padding=1)

    return charbonnier(x, imitation) + 0.05 * charbonnier(laplacian(x), laplacian(imitation))


def test_mspfn_loss_has_the_release_values_on_its_images_in_minus_one_one():
    loss = MODELS.build(Config.fromfile(CONFIGS / 'mspfn/mspfn_rain13k.py').model.pixel_loss)
    gen = torch.Generator().manual_seed(0)
    pred, target = (torch.rand(2, 3, 9, 12, generator=gen, dtype=torch.float64) for _ in range(2))
    torch.testing.assert_close(loss(pred, target), release_loss(target * 2 - 1, pred * 2 - 1),
                               rtol=1e-12, atol=0)
    torch.testing.assert_close(loss(pred, pred), release_loss(pred * 2 - 1, pred * 2 - 1),
                               rtol=1e-12, atol=0)  # 1.05 x eps: no error left


def make_ddn_data(root, size=(24, 28)):
    """DDN-Data's layout: rainy_image/<id>_<k>.jpg -> ground_truth/<id>.jpg."""
    rng = np.random.default_rng(0)
    for split, ids in (('training', (1, 2)), ('testing', (3,))):
        for i in ids:
            for k in (1, 2):
                rain, clean = rainy_pair(rng, size)
                imwrite_rgb(str(root / split / 'rainy_image' / f'{i}_{k}.jpg'), rain)
            imwrite_rgb(str(root / split / 'ground_truth' / f'{i}.jpg'), clean)
    return root


def test_ddn_config_trains_at_tiny_size(tmp_path):
    """Two SGD steps with the lr drop moved to step 1: lr 0.1 -> 0.01; every parameter moves
    except the conv biases, which training-mode batch norm cancels (zero gradient up to
    rounding, in the release too)."""
    cfg = Config.fromfile(CONFIGS / 'ddn/ddn_ddn_data.py')
    root = make_ddn_data(tmp_path / 'DDN-Data')
    cfg.param_scheduler[0].milestones = [1]
    run = train_tiny(cfg, root, tmp_path / 'work')
    for name, after in run.after.items():
        before = run.before[name]
        if name.endswith('conv.bias'):
            assert (after - before).abs().max() < 1e-6, name
        else:
            assert (before != after).all(), name
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.01)]


def test_mspfn_config_trains_at_tiny_size(tmp_path):
    """Two Adam steps of a one-FFM MSPFN on 16x16 crops: every parameter tensor moves (at this
    size some taps see only padding and some units stay dead, so not every value), but none
    of the ConvLSTMs' forget-gate and hidden-state-input weights, which one step from a zero
    state never uses (zero gradients: Adam leaves them); the lr follows
    5e-4 * 0.8 ** (t / T) + 1e-6."""
    cfg = Config.fromfile(CONFIGS / 'mspfn/mspfn_m17n1_rain13k.py')
    # Rain13K's layout (configs/_base_/datasets/rain13k.py): train/{input,target} and the test
    # set validated on, test/Rain100L/{input,target}.
    root = make_paired_folder(tmp_path / 'Rain13K', size=(24, 28), seed=1, test_split='test/Rain100L')
    cfg.model.arch.num_ffms = 1
    cfg.param_scheduler[0].decay_steps = 1
    run = train_tiny(cfg, root, tmp_path / 'work')
    for name, after in run.after.items():
        before = run.before[name]
        moved = before != after
        if name.endswith('lstm.conv.weight') or name.endswith('lstm.conv.bias'):
            hidden = before.shape[0] // 4
            forget = slice(2 * hidden, 3 * hidden)  # gates i, j, f, o
            assert not moved[forget].any(), name
            if name.endswith('weight'):
                assert not moved[:, 32:].any(), name  # the hidden-state input channels
                moved = torch.cat((moved[:2 * hidden, :32], moved[3 * hidden:, :32]))
            else:
                moved = torch.cat((moved[:2 * hidden], moved[3 * hidden:]))
        assert moved.any(), name
    # The lr of the second (last) iteration; mmengine ends the schedule at max_iters.
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(5e-4 * 0.8 + 1e-6)]
