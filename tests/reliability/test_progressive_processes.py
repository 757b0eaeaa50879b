"""Progressive learning on several processes (slow): a run resumed in the middle of either stage
on 2 processes trains, on every rank, the samples of the uninterrupted 2-process run at the
stage's patch and batch size, and ends with its weights."""
import os.path as osp

import pytest
import torch

from helpers import (REPO, data_root_options, make_rain200_folder, popen_train, trained_keys)
from restorelab.engine.checkpoint import safe_torch_load

pytestmark = pytest.mark.slow

CONFIG = osp.join(REPO, 'tests', 'reliability', 'configs', 'tiny_progressive.py')
OPTS = ['train_cfg.max_iters=6', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2']


def _train(root, work, *extra):
    proc = popen_train([CONFIG, '--work-dir', work, '--cfg-options', *data_root_options(root), *OPTS,
                        *extra], procs=2)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    return out + err


def _weights(path):
    return safe_torch_load(path)['state_dict']


def test_progressive_learning_resumes_on_two_processes(tmp_path):
    root = make_rain200_folder(str(tmp_path / 'rain'), n_train=8)
    straight = str(tmp_path / 'straight')
    _train(root, straight)
    keys = [trained_keys(straight, r) for r in range(2)]
    # Stage 1 trains 2 samples per process, stage 2 one; the ranks never share a sample.
    for it in range(1, 7):
        assert [len(k[it]) for k in keys] == ([2, 2] if it <= 3 else [1, 1]), it
        assert not set(keys[0][it]) & set(keys[1][it]), it
    final = _weights(osp.join(straight, 'iter_6.pth'))
    # Resumed inside stage 1 (after iteration 2) and inside stage 2 (after iteration 4).
    for start in (2, 4):
        work = str(tmp_path / f'from{start}')
        log = _train(root, work, '--resume', osp.join(straight, f'iter_{start}.pth'))
        assert 'Advance dataloader' not in log
        for r in range(2):
            assert trained_keys(work, r) == {it: k for it, k in keys[r].items() if it > start}, (start, r)
        resumed = _weights(osp.join(work, 'iter_6.pth'))
        assert resumed.keys() == final.keys()
        for name in final:
            torch.testing.assert_close(resumed[name], final[name], rtol=0, atol=1e-6, msg=name)
