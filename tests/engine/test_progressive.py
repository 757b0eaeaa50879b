"""ProgressiveLearningHook: the stage follows the iteration, also after resume, with the
batches of an uninterrupted run."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from restorelab.engine.hooks import ProgressiveLearningHook
from restorelab.registry import HOOKS

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'tools'))
from tool_helpers import TINY_CONFIG, make_rain200_folder  # noqa: E402


@HOOKS.register_module(force=True)
class _RecordBatchShapes(Hook):
    shapes = []
    batches = {}  # iteration -> the batch's inputs

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        type(self).shapes.append((runner.iter, len(data_batch['inputs']),
                                  tuple(data_batch['inputs'][0].shape[-2:])))
        type(self).batches[runner.iter] = torch.stack(data_batch['inputs']).clone()


@pytest.fixture(scope='module', autouse=True)
def _unregister_recorder():
    """The recorder is test-only: it leaves the registry with this module."""
    yield
    HOOKS._module_dict.pop('_RecordBatchShapes', None)


def _cfg(tmp_path, root, max_iters, resume_from=None):
    cfg = Config.fromfile(TINY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = 100
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 10
    cfg.custom_hooks = [
        dict(type='ProgressiveLearningHook', stage_iters=[3, 2, 10], patch_sizes=[16, 24, 32],
             batch_sizes=[3, 2, 1]),
        dict(type='_RecordBatchShapes'),
    ]
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    return cfg


def test_stages_follow_iterations_and_resume(tmp_path):
    root = make_rain200_folder(str(tmp_path / 'data'))
    _RecordBatchShapes.shapes, _RecordBatchShapes.batches = [], {}
    Runner.from_cfg(_cfg(tmp_path, root, 7)).train()
    assert _RecordBatchShapes.shapes == [
        (0, 3, (16, 16)), (1, 3, (16, 16)), (2, 3, (16, 16)),
        (3, 2, (24, 24)), (4, 2, (24, 24)),
        (5, 1, (32, 32)), (6, 1, (32, 32))]
    straight = _RecordBatchShapes.batches
    # Resumed at a stage boundary and in the middle of stage 2 (iteration 4 of 5 ends
    # it), the run goes on with the stage's sizes and the uninterrupted run's batches.
    for start, ckpt_iter in ((3, 3), (4, 4)):
        _RecordBatchShapes.shapes, _RecordBatchShapes.batches = [], {}
        ckpt = osp.join(str(tmp_path / 'work'), f'iter_{ckpt_iter}.pth')
        Runner.from_cfg(_cfg(tmp_path, root, 6, resume_from=ckpt)).train()
        assert _RecordBatchShapes.shapes == [
            (3, 2, (24, 24)), (4, 2, (24, 24)), (5, 1, (32, 32))][start - 3:]
        for it, inputs in _RecordBatchShapes.batches.items():
            assert torch.equal(inputs, straight[it]), it


def test_stage_lookup_and_argument_checks():
    hook = ProgressiveLearningHook([2, 3], [8, 16], [4, 2])
    assert [hook.stage_at(i) for i in range(7)] == [0, 0, 1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match='one non-zero length'):
        ProgressiveLearningHook([2, 3], [8], [4, 2])
    with pytest.raises(ValueError, match='batch_sizes must be positive'):
        ProgressiveLearningHook([2], [8], [0])
