"""tools/train.py, tools/test.py and tools/dist_train.sh end to end on a tiny model."""
import glob
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest

from restorelab.engine.checkpoint import safe_torch_load
from restorelab.evaluation.functional.psnr_ssim import compute_metrics
from restorelab.utils.image_io import imread_rgb
from tool_helpers import TINY_CONFIG, data_root_options, read_json, run_tool

RANK_REPORT_CONFIG = TINY_CONFIG.replace('tiny_rain200h.py', 'tiny_rain200h_rank_report.py')


def test_train_writes_checkpoints_events_and_comparisons(trained):
    work, res = trained
    for name in ('iter_10.pth', 'iter_20.pth', 'last_checkpoint'):
        assert osp.isfile(osp.join(work, name)), name
    best = glob.glob(osp.join(work, 'best_Rain200H_PSNR_iter_*.pth'))
    assert len(best) == 1
    assert glob.glob(osp.join(work, '*', 'vis_data', 'events.out.tfevents.*'))
    # Comparison images: rainy | derained | clean, 2 per evaluation, at 10 and 20.
    for it in (10, 20):
        files = sorted(os.listdir(osp.join(work, 'comparisons', f'iter_{it}')))
        assert files == ['1.png', '2.png']
        comp = imread_rgb(osp.join(work, 'comparisons', f'iter_{it}', '1.png'))
        assert comp.shape == (40, 3 * 48 + 2 * 4, 3)
    # The right panel is the ground truth, the left the rainy input.
    root = res.args[res.args.index('--cfg-options') + 1].split('=', 1)[1]
    comp = imread_rgb(osp.join(work, 'comparisons', 'iter_20', '1.png'))
    np.testing.assert_array_equal(comp[:, :48], imread_rgb(osp.join(root, 'test', 'input', '1.png')))
    np.testing.assert_array_equal(comp[:, -48:], imread_rgb(osp.join(root, 'test', 'target', '1.png')))
    ckpt = safe_torch_load(osp.join(work, 'iter_20.pth'))
    assert ckpt['meta']['iter'] == 20
    assert 'Rain200H/PSNR' in res.stdout + res.stderr


def test_resume_continues_from_saved_iteration(trained, rain_root, tmp_path):
    work, _ = trained
    resumed = str(tmp_path / 'resumed')
    shutil.copytree(work, resumed)
    res = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', resumed, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=30', *data_root_options(rain_root)])
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert 'resumed epoch: 0, iter: 20' in log
    assert 'Iter(train) [30/30]' in log and 'Iter(train) [20/30]' not in log
    before = safe_torch_load(osp.join(work, 'iter_20.pth'))
    after = safe_torch_load(osp.join(resumed, 'iter_30.pth'))
    assert after['meta']['iter'] == 30
    # The optimizer went on from the saved state: 10 more AdamW steps.
    steps_before = [float(s['step']) for s in before['optimizer']['state'].values()]
    steps_after = [float(s['step']) for s in after['optimizer']['state'].values()]
    assert set(steps_before) == {20.0} and set(steps_after) == {30.0}


def test_resume_from_explicit_checkpoint_and_missing_ones(trained, rain_root, tmp_path):
    work, _ = trained
    res = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(tmp_path / 'r'), '--resume',
                    osp.join(work, 'iter_10.pth'), '--cfg-options', 'train_cfg.max_iters=12',
                    *data_root_options(rain_root)])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 10' in res.stdout + res.stderr
    # Nothing to resume: an error, not a silent fresh start.
    res = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(tmp_path / 'empty'),
                    '--resume', '--cfg-options', *data_root_options(rain_root)])
    assert res.returncode == 2
    assert 'no checkpoint to resume' in res.stderr and 'Traceback' not in res.stderr
    res = run_tool(['tools/train.py', TINY_CONFIG, '--resume', str(tmp_path / 'nope.pth')])
    assert res.returncode == 2 and 'nope.pth' in res.stderr


def test_missing_dataset_folder_is_one_paragraph(tmp_path):
    missing = str(tmp_path / 'no_such_data')
    res = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(tmp_path / 'w'),
                    '--cfg-options', *data_root_options(missing)])
    assert res.returncode == 2
    err = res.stderr.strip()
    assert 'Traceback' not in err
    assert err.startswith('error: ')
    assert osp.join(missing, 'train', 'input') in err
    assert 'Expected layout' in err and 'Found 0' in err
    assert len(err.splitlines()) <= 3


def _test_and_score_saved(work, rain_root, tmp_path, name, *extra):
    """tools/test.py with --save-images; returns (metrics record, saved images, the
    scores of the saved files)."""
    out_json = str(tmp_path / f'{name}.json')
    saved = str(tmp_path / name)
    res = run_tool(['tools/test.py', TINY_CONFIG, osp.join(work, 'iter_20.pth'), '--out', out_json,
                    '--save-images', saved, '--work-dir', str(tmp_path / 'tw'), *extra,
                    '--cfg-options', *data_root_options(rain_root)])
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(os.listdir(saved)) == ['1.png', '2.png']
    images, psnrs, ssims = [], [], []
    for name in ('1.png', '2.png'):
        images.append(imread_rgb(osp.join(saved, name)))
        gt = imread_rgb(osp.join(rain_root, 'test', 'target', name))
        m = compute_metrics(images[-1], gt, 'restormer')
        psnrs.append(m['psnr'])
        ssims.append(m['ssim'])
    return read_json(out_json), images, (np.mean(psnrs), np.mean(ssims))


def test_test_tool_metrics_equal_scores_of_saved_images(trained, rain_root, tmp_path):
    record, _, (psnr, ssim) = _test_and_score_saved(trained[0], rain_root, tmp_path, 'round')
    assert set(record['metrics']) == {'Rain200H/PSNR', 'Rain200H/SSIM'}
    # In-loop numbers equal the numbers of the saved 8-bit files.
    assert record['metrics']['Rain200H/PSNR'] == pytest.approx(psnr, abs=1e-9)
    assert record['metrics']['Rain200H/SSIM'] == pytest.approx(ssim, abs=1e-12)


def test_test_tool_quantize_truncate_scores_and_saves_truncated_images(trained, rain_root,
                                                                       tmp_path):
    work = trained[0]
    rounded, round_images, _ = _test_and_score_saved(work, rain_root, tmp_path, 'round')
    record, images, (psnr, ssim) = _test_and_score_saved(work, rain_root, tmp_path, 'truncate',
                                                         '--quantize', 'truncate')
    assert record['metrics']['Rain200H/PSNR'] == pytest.approx(psnr, abs=1e-9)
    assert record['metrics']['Rain200H/SSIM'] == pytest.approx(ssim, abs=1e-12)
    # Truncation is rounding minus 0 or 1 level, and the lost levels cost PSNR.
    for t, r in zip(images, round_images):
        diff = r.astype(int) - t.astype(int)
        assert diff.min() == 0 and diff.max() == 1 and diff.mean() > 0.2
    assert record['metrics']['Rain200H/PSNR'] != rounded['metrics']['Rain200H/PSNR']


def test_test_tool_refuses_quantize_without_a_metric_to_apply_it_to(trained, tmp_path):
    res = run_tool(['tools/test.py', TINY_CONFIG, osp.join(trained[0], 'iter_20.pth'),
                    '--quantize', 'truncate', '--cfg-options', 'test_evaluator=[]'])
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'has no restorelab metric (PSNR/SSIM/NIQE/BRISQUE' in res.stderr.strip().splitlines()[-1]


def test_test_tool_refuses_missing_checkpoint(tmp_path):
    res = run_tool(['tools/test.py', TINY_CONFIG, str(tmp_path / 'none.pth')])
    assert res.returncode == 2 and 'none.pth' in res.stderr and 'Traceback' not in res.stderr


def test_dist_train_two_cpu_processes_accumulating_equal_one_with_the_whole_batch(
        rain_root, tmp_path):
    """2 gloo processes x 1 sample x accumulate 2 (DDP synchronising only on the last batch) train
    on the samples of one process with a batch of 4 and end with its weights."""
    options = ['--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
               'default_hooks.checkpoint.interval=3', 'total_batch_size=4', *data_root_options(rain_root)]
    works = {name: str(tmp_path / name) for name in ('dist', 'single')}
    dist = run_tool(['bash', 'tools/dist_train.sh', RANK_REPORT_CONFIG, '2', '--work-dir', works['dist'],
                     '--batch-size', '1', *options], python=False, env={'PYTHON': sys.executable})
    assert dist.returncode == 0, (dist.stdout[-2000:], dist.stderr[-3000:])
    assert 'per-process batch 1 x 2 processes x accumulate 2 = 4 samples per iteration' in \
        dist.stdout + dist.stderr
    r0, r1 = (read_json(osp.join(works['dist'], f'rank{r}.json')) for r in (0, 1))
    assert r0['world_size'] == r1['world_size'] == 2
    assert r0['backend'] == 'gloo' and r0['wrapped'] == 'MMDistributedDataParallel'
    assert r0['iter'] == r1['iter'] == 3
    # The ranks end with the same weights ...
    assert r0['param_sum'] == r1['param_sum'] and r0['param_abs_sum'] == r1['param_abs_sum']
    # ... after training on different samples (each saw 3 x 2 batches of 1 of the 6 images).
    assert len(r0['keys']) == len(r1['keys']) == 6 and r0['keys'] != r1['keys']
    # One checkpoint set, written by rank 0; validation ran.
    assert osp.isfile(osp.join(works['dist'], 'iter_3.pth'))
    assert 'Rain200H/PSNR' in dist.stdout + dist.stderr
    single = run_tool(['tools/train.py', RANK_REPORT_CONFIG, '--work-dir', works['single'], *options])
    assert single.returncode == 0, single.stderr[-3000:]
    one = read_json(osp.join(works['single'], 'rank0.json'))
    assert r0['accumulate'] == r1['accumulate'] == 2 and one['accumulate'] == 1
    assert sorted(r0['keys'] + r1['keys']) == sorted(one['keys']) and len(one['keys']) == 12
    a, b = (safe_torch_load(osp.join(works[name], 'iter_3.pth'))['state_dict'] for name in ('dist', 'single'))
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key].double() - b[key].double()).abs().max() <= 1e-6, key


def _assert_trained_on_cuda(work, res, iters, optim_wrapper):
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-3000:])
    report = read_json(osp.join(work, 'rank0.json'))
    assert report['device'] == 'cuda' and report['iter'] == iters
    assert report['optim_wrapper'] == optim_wrapper
    assert np.isfinite(report['param_sum']) and np.isfinite(report['param_abs_sum'])
    assert osp.isfile(osp.join(work, f'iter_{iters}.pth'))
    assert 'Rain200H/PSNR' in res.stdout + res.stderr
    return report


def test_train_tool_on_cuda_with_amp_and_accumulation(cuda_device, rain_root, tmp_path):
    """The CUDA case of the tools/train.py runs above: float16 AMP (mmengine's AmpOptimWrapper) and a
    total batch of 4 as 2 per step x accumulate 2."""
    work = str(tmp_path / 'cuda')
    res = run_tool(['tools/train.py', RANK_REPORT_CONFIG, '--work-dir', work, '--amp', '--batch-size', '2',
                    '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
                    'default_hooks.checkpoint.interval=6', 'total_batch_size=4',
                    *data_root_options(rain_root)])
    report = _assert_trained_on_cuda(work, res, 6, 'AmpOptimWrapper')
    assert report['accumulate'] == 2 and len(report['keys']) == 6 * 4
    assert 'per-process batch 2 x 1 process x accumulate 2 = 4' in res.stdout + res.stderr


def test_dist_train_one_gpu(cuda_device, rain_root, tmp_path):
    """The CUDA case of test_dist_train_two_cpu_processes_accumulating_equal_one_with_the_whole_batch:
    one process on one GPU through torchrun (nccl)."""
    work = str(tmp_path / 'dist_cuda')
    res = run_tool(['bash', 'tools/dist_train.sh', RANK_REPORT_CONFIG, '1', '--work-dir', work,
                    '--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
                    'default_hooks.checkpoint.interval=6', *data_root_options(rain_root)],
                   python=False, env={'PYTHON': sys.executable})
    _assert_trained_on_cuda(work, res, 6, 'OptimWrapper')


def test_dist_test_scores_each_image_once(trained, rain_root, tmp_path):
    work, _ = trained
    ckpt = osp.join(work, 'iter_20.pth')
    single, dist = str(tmp_path / 'single.json'), str(tmp_path / 'dist.json')
    res = run_tool(['tools/test.py', TINY_CONFIG, ckpt, '--out', single, '--work-dir',
                    str(tmp_path / 'w1'), '--cfg-options', *data_root_options(rain_root)])
    assert res.returncode == 0, res.stderr[-3000:]
    # 3 test images on 2 processes: the distributed sampler pads rank 1 with a
    # repeat, which the evaluator must drop.
    from restorelab.utils.image_io import imwrite_rgb
    root3 = str(tmp_path / 'three')
    shutil.copytree(rain_root, root3)
    for side in ('input', 'target'):
        imwrite_rgb(osp.join(root3, 'test', side, '3.png'),
                    imread_rgb(osp.join(root3, 'test', side, '1.png'))[::-1].copy())
    single3 = str(tmp_path / 'single3.json')
    res = run_tool(['tools/test.py', TINY_CONFIG, ckpt, '--out', single3, '--work-dir',
                    str(tmp_path / 'w3'), '--cfg-options', *data_root_options(root3)])
    assert res.returncode == 0, res.stderr[-3000:]
    res = run_tool(['bash', 'tools/dist_test.sh', TINY_CONFIG, ckpt, '2', '--out', dist,
                    '--work-dir', str(tmp_path / 'w2'), '--cfg-options', *data_root_options(root3)],
                   python=False, env={'PYTHON': sys.executable})
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = read_json(single3)['metrics'], read_json(dist)['metrics']
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-12), k
    # ... and differ from the 2-image set, so the third image was really scored.
    assert read_json(single)['metrics'] != a


def test_test_tool_unknown_test_cfg_key_is_one_paragraph_after_no_config_dump(tmp_path):
    import torch
    ckpt = tmp_path / 'any.pth'
    torch.save({'state_dict': {}}, ckpt)
    res = run_tool(['tools/test.py', TINY_CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'w'),
                    '--cfg-options', 'model.test_cfg.tiel=256'])
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert "unknown key(s) 'tiel'; did you mean 'tile'?" in last
    assert 'Config:' not in res.stdout and 'System environment' not in res.stdout
    # load_restorer checks test_cfg before a Runner (and its log) exists.
    assert not list((tmp_path / 'w').rglob('*.log'))


def test_dist_train_without_data_is_one_message_before_any_process_starts(tmp_path):
    missing = str(tmp_path / 'no_such_data')
    res = run_tool(['bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options', *data_root_options(missing)],
                   python=False, env={'PYTHON': sys.executable})
    assert res.returncode == 2
    err = res.stderr.strip()
    assert 'Traceback' not in err and 'ChildFailedError' not in err
    assert osp.join(missing, 'train', 'input') in err
    assert err.count('error: ') == 1  # one message, not one per process
    assert err.startswith('error: ') and len(err.splitlines()) <= 3
    assert not (tmp_path / 'w').exists() or not list((tmp_path / 'w').rglob('*.pth'))


def test_train_names_the_command_that_continues_the_run(monkeypatch):
    from tool_helpers import load_tool
    train = load_tool('tools/train.py')

    def command(argv, env=None):
        for var in ('LOCAL_WORLD_SIZE', 'WORLD_SIZE', 'GROUP_WORLD_SIZE'):
            monkeypatch.delenv(var, raising=False)
        for var, value in (env or {}).items():
            monkeypatch.setenv(var, value)
        return train.continue_command(argv, train.parse_args(argv))

    assert command(['c.py', '--work-dir', 'w d', '--resume', 'w/iter_3.pth']) == \
        "`tools/train.py c.py --work-dir 'w d' --resume`"
    # Under torchrun: tools/dist_train.sh with the processes per machine, without --launcher
    # and --load-from (a resumed run has its weights).
    argv = ['c.py', '--launcher', 'pytorch', '--load-from', 'x.pth', '--cfg-options', 'a=1',
            '--resume']
    assert command(argv, dict(LOCAL_WORLD_SIZE='2', WORLD_SIZE='4', GROUP_WORLD_SIZE='2')) == \
        '`tools/dist_train.sh c.py 2 --cfg-options a=1 --resume` on each machine'
    assert command(['--launcher=slurm', 'c.py']) == \
        '`tools/train.py c.py --launcher slurm --resume` under srun (or requeue the job)'
