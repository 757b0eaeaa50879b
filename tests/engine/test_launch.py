"""Config preparation done by tools/train.py: batch split, EMA, AMP, resume, work dir."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from restorelab.engine import launch
from restorelab.engine.checkpoint import safe_torch_load
from restorelab.engine.optim_wrapper import CPUAmpOptimWrapper, amp_optim_wrapper_type

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'tools'))
from tool_helpers import TINY_CONFIG, make_rain200_folder  # noqa: E402


def _tiny_cfg(tmp_path, root):
    cfg = Config.fromfile(TINY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.work_dir = str(tmp_path / 'work')
    return cfg


def test_total_batch_size_is_split_over_processes():
    cfg = Config(dict(total_batch_size=16, train_dataloader=dict(batch_size=1)))
    assert launch.apply_total_batch_size(cfg, 4).train_dataloader.batch_size == 4
    assert launch.apply_total_batch_size(cfg, 1).train_dataloader.batch_size == 16
    with pytest.raises(launch.LaunchError, match='cannot be split evenly over 3 processes'):
        launch.apply_total_batch_size(cfg, 3)
    cfg.total_batch_size = 0
    with pytest.raises(launch.LaunchError, match='positive int'):
        launch.apply_total_batch_size(cfg, 1)
    # Without total_batch_size the loader's own batch_size stays.
    cfg = Config(dict(train_dataloader=dict(batch_size=3)))
    assert launch.apply_total_batch_size(cfg, 2).train_dataloader.batch_size == 3


def test_ema_switch_adds_one_ema_hook():
    cfg = Config(dict(use_ema=False, custom_hooks=[]))
    assert launch.apply_ema(cfg).custom_hooks == []
    cfg = Config(dict(use_ema=True, ema_momentum=0.01, custom_hooks=[dict(type='X')]))
    hooks = launch.apply_ema(launch.apply_ema(cfg)).custom_hooks
    assert [h['type'] for h in hooks] == ['X', 'EMAHook'] and hooks[1]['momentum'] == 0.01


def test_work_dir_priority(tmp_path):
    cfg = Config(dict(work_dir='from_cfg'))
    assert launch.set_work_dir(cfg, 'configs/a_b.py', 'cli').work_dir == 'cli'
    assert launch.set_work_dir(Config(dict(work_dir='from_cfg')), 'configs/a_b.py').work_dir == 'from_cfg'
    assert launch.set_work_dir(Config(dict()), 'configs/a_b.py').work_dir == osp.join('work_dirs', 'a_b')


def test_resume_resolution(tmp_path):
    cfg = Config(dict(work_dir=str(tmp_path)))
    with pytest.raises(launch.LaunchError, match='no checkpoint to resume'):
        launch.resolve_resume(cfg, 'auto')
    ckpt = tmp_path / 'iter_4.pth'
    torch.save({'state_dict': {}}, ckpt)
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    cfg = launch.resolve_resume(Config(dict(work_dir=str(tmp_path))), 'auto')
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    with pytest.raises(launch.LaunchError, match='no such checkpoint'):
        launch.resolve_resume(cfg, str(tmp_path / 'x.pth'))


def test_setup_distributed_needs_torchrun_environment(monkeypatch):
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(var, raising=False)
    cfg = Config(dict(env_cfg=dict()))
    assert launch.setup_distributed(cfg, 'none').launcher == 'none'
    with pytest.raises(launch.LaunchError, match='torchrun'):
        launch.setup_distributed(cfg, 'pytorch')
    with pytest.raises(launch.LaunchError, match='unknown launcher'):
        launch.setup_distributed(cfg, 'mpi')


def test_ema_and_cpu_amp_train(tmp_path):
    root = make_rain200_folder(str(tmp_path / 'data'))
    cfg = _tiny_cfg(tmp_path, root)
    cfg.use_ema = True
    launch.apply_ema(cfg)
    assert amp_optim_wrapper_type() == 'CPUAmpOptimWrapper'  # no GPU here
    cfg.optim_wrapper.type = amp_optim_wrapper_type()
    cfg.train_cfg.max_iters = 4
    cfg.train_cfg.val_interval = 4
    cfg.default_hooks.checkpoint.interval = 4
    runner = Runner.from_cfg(cfg)
    dtypes = []
    runner.model.arch.output.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    runner.train()
    assert isinstance(runner.optim_wrapper, CPUAmpOptimWrapper)
    # Forward passes of training ran in bfloat16; validation in float32.
    assert dtypes[:4] == [torch.bfloat16] * 4 and dtypes[4:] == [torch.float32] * 2
    ckpt = safe_torch_load(osp.join(cfg.work_dir, 'iter_4.pth'))
    # EMAHook: state_dict holds the averaged weights, the raw ones are kept too.
    assert set(ckpt['ema_state_dict']) >= {'module.arch.output.weight', 'steps'}
    raw = ckpt['ema_state_dict']['module.arch.output.weight']
    assert not torch.equal(ckpt['state_dict']['arch.output.weight'], raw)


def test_cpu_amp_wrapper_refuses_float16():
    with pytest.raises(ValueError, match='bfloat16'):
        CPUAmpOptimWrapper(dtype='float16', optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1))
