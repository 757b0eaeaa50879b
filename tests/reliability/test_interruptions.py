"""Real interruptions of tools/train.py and tools/dist_train.sh runs (slow):
SIGKILL at a random moment then --resume equals an uninterrupted run; SIGTERM
saves and stops a single-process run, which then resumes (multi-process runs:
test_hangs_and_signals.py); a rank that hangs or dies ends the run with an error
in bounded time."""
import glob
import json
import os
import os.path as osp
import random
import signal
import time

import pytest
import torch

from helpers import (REPO, make_rain200_folder, popen_train, run_tool, train_args, trained_keys,
                     wait_for_file)
from restorelab.engine.checkpoint import safe_torch_load
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

pytestmark = pytest.mark.slow

@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = make_rain200_folder(str(tmp_path_factory.mktemp('rain')))
    # Three test images: on two ranks the sampler pads one, the evaluator must drop it.
    for side in ('input', 'target'):
        imwrite_rgb(osp.join(root, 'test', side, '3.png'),
                    imread_rgb(osp.join(root, 'test', side, '1.png'))[::-1].copy())
    return root


def _train_scalars(work):
    """{iteration: loss} from every run's scalars.json in ``work`` (later runs win)."""
    losses = {}
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    losses[rec['step']] = rec['loss']
    return losses


OPTS = ['train_cfg.max_iters=40', 'train_cfg.val_interval=20', 'default_hooks.checkpoint.interval=4',
        'default_hooks.checkpoint.max_keep_ckpts=2', 'use_ema=True']


def test_sigkill_at_random_moment_then_resume_equals_uninterrupted(root, tmp_path):
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    res = run_tool(['tools/train.py', *train_args(root, straight, *OPTS)])
    assert res.returncode == 0, res.stderr[-3000:]

    proc = popen_train(train_args(root, killed, *OPTS))
    wait_for_file(osp.join(killed, 'iter_8.pth'), proc)
    # A random moment after the second checkpoint: often during a later save.
    time.sleep(random.Random().uniform(0, 0.4))
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not osp.exists(osp.join(killed, 'iter_40.pth')), 'the run ended before the kill'

    res = run_tool(['tools/train.py', *train_args(root, killed, *OPTS), '--resume'])
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert 'the newest complete checkpoint' in log
    resumed_from = int(log.split('resumed epoch: 0, iter: ')[1].split()[0])
    assert resumed_from >= 8

    # The same iterations trained on the same samples with the same losses ...
    a, b = _train_scalars(straight), _train_scalars(killed)
    assert sorted(a) == sorted(b) == list(range(1, 41))
    for it in a:
        assert b[it] == pytest.approx(a[it], rel=1e-5, abs=1e-7), it
    assert trained_keys(straight) == trained_keys(killed)
    # ... ending with the same weights (EMA and raw), optimizer, scheduler and best record.
    fa = safe_torch_load(osp.join(straight, 'iter_40.pth'))
    fb = safe_torch_load(osp.join(killed, 'iter_40.pth'))
    for part in ('state_dict', 'ema_state_dict'):
        for k, v in fa[part].items():
            torch.testing.assert_close(fb[part][k], v, rtol=0, atol=1e-6, msg=k)
    for k, s in fa['optimizer']['state'].items():
        torch.testing.assert_close(fb['optimizer']['state'][k]['exp_avg_sq'], s['exp_avg_sq'],
                                   rtol=0, atol=1e-6)
        assert float(fb['optimizer']['state'][k]['step']) == 40
    assert fa['param_schedulers'] == fb['param_schedulers']
    hub_a, hub_b = fa['message_hub']['runtime_info'], fb['message_hub']['runtime_info']
    assert hub_a['best_score'] == pytest.approx(hub_b['best_score'], abs=1e-9)
    assert osp.basename(hub_a['best_ckpt']) == osp.basename(hub_b['best_ckpt'])


def test_sigterm_saves_checkpoint_and_exits_then_resumes(root, tmp_path):
    work = str(tmp_path / 'w')
    opts = ['train_cfg.max_iters=100000', 'train_cfg.val_interval=100000',
            'default_hooks.checkpoint.interval=3', 'train_dataloader.num_workers=2',
            'train_dataloader.persistent_workers=True']
    proc = popen_train(train_args(root, work, *opts), new_session=True)
    wait_for_file(osp.join(work, 'iter_3.pth'), proc)
    # As a scheduler does: the whole process group, DataLoader workers included.
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    end = json.load(open(osp.join(work, 'end_rank0.json')))
    step = end['iter']
    assert end['stop_signal'] == 'SIGTERM' and step >= 3
    assert f'training stopped by SIGTERM at iteration {step}' in err
    assert safe_torch_load(osp.join(work, f'iter_{step}.pth'))['meta']['iter'] == step
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, f'iter_{step}.pth')
    res = run_tool(['tools/train.py', *train_args(root, work, *opts[1:]), '--resume',
                    '--cfg-options', f'train_cfg.max_iters={step + 2}'])
    assert res.returncode == 0, res.stderr[-3000:]
    assert f'resumed epoch: 0, iter: {step}' in res.stdout + res.stderr
    assert json.load(open(osp.join(work, 'end_rank0.json')))['iter'] == step + 2


def test_dist_hung_rank_ends_run_with_clear_error(root, tmp_path):
    work = str(tmp_path / 'hang')
    start = time.time()
    proc = popen_train(train_args(root, work, 'train_cfg.max_iters=20', 'env_cfg.dist_cfg.timeout=5',
                              'custom_hooks.0.hang_rank=1', 'custom_hooks.0.hang_at=3'), procs=2)
    out, err = proc.communicate(timeout=180)
    elapsed = time.time() - start
    assert proc.returncode != 0
    assert 'error (rank 0): rank 0 of 2 lost contact with the other processes' in err, err[-3000:]
    assert 'env_cfg.dist_cfg.timeout=5 s' in err
    assert elapsed < 120


def test_dist_dead_rank_ends_run(root, tmp_path):
    work = str(tmp_path / 'dead')
    start = time.time()
    proc = popen_train(train_args(root, work, 'train_cfg.max_iters=100000',
                              'train_cfg.val_interval=100000'), procs=2)
    wait_for_file(osp.join(work, 'keys_rank1.jsonl'), proc)
    os.kill(int(open(osp.join(work, 'pid_rank1')).read()), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert time.time() - start < 150
    assert 'Signal 9 (SIGKILL)' in err or 'lost contact with the other processes' in err, err[-3000:]


def test_large_image_loads_and_restores_tiled_in_bounded_memory(tmp_path):
    n = 8000
    img = ((torch.arange(n)[:, None] + torch.arange(n)[None, :]) // 7 % 256).to(torch.uint8)
    img = img[..., None].expand(n, n, 3).contiguous().numpy()
    path = str(tmp_path / 'big.png')
    imwrite_rgb(path, img)
    del img
    res = run_tool([osp.join(REPO, 'tests', 'reliability', 'big_image_probe.py'), path, '1024'])
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report['shape'] == [n, n, 3] and report['dtype'] == 'uint8'
    assert report['corner_equal'] and report['changed'] > 0
    # Untiled, one 32-channel float activation of the arch alone would take
    # 32 * 4 bytes per pixel (8.2 GB); tiled, the whole process stays below it.
    assert report['peak_rss'] < 32 * 4 * n * n
