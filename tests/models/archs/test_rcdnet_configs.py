"""The RCDNet configs build the released model with the release's recipe per training set, and
train a few steps at tiny size from the release's initial-kernel file."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.rcdnet import init_rain_kernels, rcdnet_stage_weights
from restorelab.registry import MODELS
from restorelab.testing import make_paired_folder, train_tiny
from restorelab.utils.errors import ModelInitFileError

pytestmark = pytest.mark.usefixtures('single_thread')

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'rcdnet'
# config -> (iterations per epoch, left-right flips, dataset prefix, protocol)
RECIPES = {
    'rcdnet_rain100l.py': (1038, True, 'Rain100L'),
    'rcdnet_rain100h.py': (900, True, 'Rain100H'),
    'rcdnet_ddn_data.py': (788, True, 'DDN-Data'),
    'rcdnet_spa_data.py': (1500, False, 'SPA-Data'),
}


def test_every_config_builds_the_released_model():
    archs = {name: Config.fromfile(CONFIGS / name).model.arch.to_dict() for name in RECIPES}
    assert all(arch == archs['rcdnet_rain100l.py'] for arch in archs.values())
    model = MODELS.build(Config.fromfile(CONFIGS / 'rcdnet_rain100l.py').model)
    assert type(model.arch).__name__ == 'RCDNet' and count_parameters(model.arch) == 2_975_186
    assert (model.arch.stages, model.arch.num_M, model.arch.num_Z) == (17, 32, 32)
    assert model.arch.init_kernel_file == 'checkpoints/official/rcdnet/init_kernel.mat'
    loss = model.pixel_loss
    assert type(loss).__name__ == 'MultiStageLoss' and type(loss.loss).__name__ == 'MSELoss'
    assert loss.loss.loss_weight == 255.0 ** 2 and loss.stage_weights == rcdnet_stage_weights(17)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_release_recipe(name):
    iters, flips, dataset = RECIPES[name]
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                               weight_decay=0)
    # lr x0.2 after epochs 25, 50, 75 of 100.
    assert cfg.param_scheduler == [dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
                                        milestones=[25 * iters, 50 * iters, 75 * iters])]
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=100 * iters, val_interval=iters)
    assert cfg.default_hooks.checkpoint.interval == iters
    assert cfg.total_batch_size == 16 and cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop',
                                          *(['PairedRandomFlip'] if flips else []), 'PackInputs']
    assert pipeline[2].patch_size == 64
    if flips:
        assert pipeline[3].prob == 0.5 and pipeline[3].direction == 'horizontal'
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert [(m.type, m.protocol, m.prefix) for m in evaluator] == [
            ('PSNR', 'rcdnet', dataset), ('SSIM', 'rcdnet', dataset)]


def tiny_config(kernel_file):
    cfg = Config.fromfile(CONFIGS / 'rcdnet_rain100l.py')
    cfg.model.arch.update(stages=2, num_M=4, num_Z=3, init_kernel_file=str(kernel_file))
    cfg.model.pixel_loss.stage_weights = rcdnet_stage_weights(2)
    return cfg


def test_config_trains_at_tiny_size_from_the_kernel_file(tmp_path):
    """Two iterations of the config's pipeline, loss, optimizer and lr steps with two stages,
    4 rain maps, batch 2 and 16x16 crops: the kernels start from the file, every parameter
    moves, the lr drops by 0.2 after the (moved) milestone."""
    scipy_io = pytest.importorskip('scipy.io')
    kernels = np.random.default_rng(1).random((3, 4, 9, 9)) * 0.1
    kernel_file = tmp_path / 'init_kernel.mat'
    scipy_io.savemat(str(kernel_file), {'C9': kernels})
    cfg = tiny_config(kernel_file)
    cfg.param_scheduler[0].milestones = [1]

    def building_reads_no_file(runner):
        assert torch.equal(runner.model.arch.conv.data, init_rain_kernels(4, 9))

    run = train_tiny(cfg, make_paired_folder(tmp_path / 'data', layout='rain100'), tmp_path / 'work',
                     before_train=building_reads_no_file)
    arch = run.runner.model.arch
    from_file = torch.from_numpy(kernels).float()
    for kernel in (arch.weight0, arch.conv):  # started from the file: two Adam steps of <= 1e-3
        assert (kernel.data - from_file).abs().max() <= 2e-3 + 1e-6
    assert not run.unchanged
    assert run.runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(1e-3 * 0.2)]


def test_training_without_the_kernel_file_says_what_to_do(tmp_path):
    """The runner calls the restorer's init_weights before training, which reaches the arch's."""
    missing = tmp_path / 'checkpoints' / 'init_kernel.mat'
    model = MODELS.build(tiny_config(missing).model)  # building needs no file
    with pytest.raises(ModelInitFileError, match=f'{missing} does not exist'):
        model.init_weights()
