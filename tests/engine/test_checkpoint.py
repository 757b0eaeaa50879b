"""Safe checkpoint loading: resume works under weights_only, nothing else loads."""
import builtins
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint

from restorelab.engine.checkpoint import (CheckpointNotFoundError, UnsafeCheckpointError,
                                          safe_torch_load)


class _CreatesFile:
    """Unpickling this object would create ``path`` (a stand-in for any payload)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, 'w'))


class _GetattrEscape:
    """Asks the unpickler for getattr(HistoryBuffer, '__init__'), not a statistic."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    payload = tmp_path / 'pwned.txt'
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': _CreatesFile(payload)}, ckpt)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth') as info:
        safe_torch_load(ckpt)
    assert 'weights_only=True' in str(info.value)
    assert 'convert_checkpoint.py' in str(info.value)
    # Through mmengine's API (which restorelab's loader now serves) as well.
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(nn.Linear(1, 1), str(ckpt))
    assert not payload.exists()


def test_getattr_stand_in_only_allows_history_buffer_statistics(tmp_path):
    ckpt = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, ckpt)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        safe_torch_load(ckpt)


def test_history_buffer_and_numpy_objects_load(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    obj = {'hub': buf, 'arr': np.arange(6, dtype=np.float32).reshape(2, 3),
           'scalar': np.float64(3.25), 'int': np.int64(7), 'w': torch.arange(3.)}
    ckpt = tmp_path / 'own.pth'
    torch.save(obj, ckpt)
    # The plain weights-only loader refuses these objects (the mmengine#1655 failure) ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    # ... restorelab's allow-list loads them intact.
    out = safe_torch_load(ckpt)
    assert out['hub'].mean() == 2.0 and out['hub'].current() == 2.5
    np.testing.assert_array_equal(out['arr'], obj['arr'])
    assert out['scalar'] == 3.25 and out['int'] == 7
    assert torch.equal(out['w'], obj['w'])


def test_missing_file_names_it(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='nope.pth'):
        safe_torch_load(tmp_path / 'nope.pth')


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        out = self.lin(inputs)
        if mode == 'loss':
            targets = torch.stack(targets) if isinstance(targets, (list, tuple)) else targets
            return {'loss': ((out - targets) ** 2).mean()}
        return out


class _ToyData(torch.utils.data.Dataset):

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 4, generator=gen)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


def _runner(work_dir, max_iters, resume_from=None):
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='InfiniteSampler', shuffle=True),
                              batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False)],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='EMAHook', momentum=0.1)],
        randomness=dict(seed=1),
        resume=resume_from is not None,
        load_from=resume_from,
        default_scope='mmengine',
        experiment_name=f'toy{max_iters}_{resume_from is not None}',
    )


def test_resume_equals_uninterrupted_run(tmp_path):
    straight = _runner(tmp_path / 'a', 6)
    straight.train()
    # The mmengine checkpoint holds HistoryBuffers and numpy objects.
    ckpt = tmp_path / 'a' / 'iter_3.pth'
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt))

    resumed = _runner(tmp_path / 'b', 6, resume_from=str(ckpt))
    resumed.train()
    assert resumed.iter == 6
    a = straight.model.state_dict()
    b = resumed.model.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    final_a = safe_torch_load(tmp_path / 'a' / 'iter_6.pth')
    final_b = safe_torch_load(tmp_path / 'b' / 'iter_6.pth')
    assert final_a['meta']['iter'] == final_b['meta']['iter'] == 6
    for k, v in final_a['ema_state_dict'].items():
        torch.testing.assert_close(v, final_b['ema_state_dict'][k], rtol=0, atol=1e-6)
    sa, sb = final_a['optimizer']['state'], final_b['optimizer']['state']
    for k in sa:
        torch.testing.assert_close(sa[k]['exp_avg'], sb[k]['exp_avg'], rtol=0, atol=1e-6)
    assert final_a['param_schedulers'] == final_b['param_schedulers']
    assert final_a['param_schedulers'][0]['_global_step'] == 6
    assert final_a['message_hub']['log_scalars']['train/loss'].current() == \
        final_b['message_hub']['log_scalars']['train/loss'].current()
