#!/usr/bin/env python
"""Resume time at an early and a late iteration (issue 18): restorelab's training loop, which
enters the sample stream at the checkpoint's position, against mmengine's, which loads every
batch already trained again. A benchmark, not a test.

Writes a generated Rain200-layout set (``--per-image`` rainy versions of each of scikit-image's 7
photographs, longer side ``--max-side``) to the scratch folder, trains the tiny Restormer of
``tests/data/configs/tiny_rain200h.py`` (2 DataLoader workers) for ``--early`` iterations and, in a
second run, for ``--late`` iterations, then resumes each checkpoint for one more iteration, each
time in a fresh process, and prints the seconds from ``runner.train()`` to the start of that
iteration (checkpoint load, loader start and, with mmengine's loop, the replay), median of
``--repeats``.

With ``--late-from-early`` the late checkpoint is not trained: it is a copy of the early one
whose iteration counters (checkpoint meta, message hub, scheduler steps) and training-stream
position say ``--late``. What a resume costs depends on those counters (where the stream is
entered; how many batches mmengine's loop reads again), not on the weights.

    nice -n 10 python benchmarks/resume_time.py --scratch /tmp/resume  # ~1 h on 2 busy cores
    python benchmarks/resume_time.py --late-from-early                  # minutes
    python benchmarks/resume_time.py --late 200 --mmengine-repeats 1    # a quick look
    python benchmarks/resume_time.py --dry-run --scratch /tmp/resume_dry # 7 small pairs, 2 and 4 iterations

Each resume runs in a fresh process (the harness's ``fresh_process``); the figures go to the record
``benchmarks/results/resume_time.json``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

ROOT = harness.REPO_ROOT
SCRIPT = 'resume_time'
TINY_CONFIG = ROOT / 'tests' / 'data' / 'configs' / 'tiny_rain200h.py'
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def options(data, work, max_iters, checkpoint_interval):
    return [f'{loader}.dataset.data_root={data}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        f'work_dir={work}', f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=10000000',
        f'default_hooks.checkpoint.interval={checkpoint_interval}',
        'default_hooks.logger.interval=1000',
        'train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True']


def make_data(scratch, per_image, max_side):
    data = scratch / 'data'
    if not (data / 'train' / 'input').is_dir():
        subprocess.run([sys.executable, str(ROOT / 'tools' / 'make_synthetic_rain.py'), 'skimage',
                        str(data / 'train'), '--max-side', str(max_side), '--n-per-image',
                        str(per_image), '--seed', '0'], check=True, env=ENV,
                       stdout=subprocess.DEVNULL)
    if not (data / 'test' / 'input').is_dir():  # validation is built, never run
        subprocess.run([sys.executable, str(ROOT / 'tools' / 'make_synthetic_rain.py'),
                        'skimage:chelsea', str(data / 'test'), '--max-side', str(max_side),
                        '--seed', '1'], check=True, env=ENV, stdout=subprocess.DEVNULL)
    return data, len(os.listdir(data / 'train' / 'input'))


def train(data, work, iters):
    """Train ``iters`` iterations into ``work`` (a checkpoint at the end); its path."""
    ckpt = work / f'iter_{iters}.pth'
    if not ckpt.is_file():
        start = time.perf_counter()
        res = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(TINY_CONFIG),
                              '--cfg-options', *options(data, work, iters, iters)], env=ENV,
                             capture_output=True, text=True)
        if res.returncode:
            sys.exit(f'training failed:\n{res.stderr[-3000:]}')
        print(f'trained {iters} iterations in {time.perf_counter() - start:.0f} s', flush=True)
    return ckpt


def relabel(early_ckpt, work, iters):
    """A copy of ``early_ckpt`` at ``work/iter_{iters}.pth`` whose iteration counters and stream
    position say ``iters`` (the weights, optimizer moments and other state stay the early ones)."""
    import torch

    from restorelab.engine.checkpoint import safe_torch_load
    from restorelab.engine.loops import STREAM_STATE
    ckpt = work / f'iter_{iters}.pth'
    if ckpt.is_file():
        return ckpt
    state = safe_torch_load(str(early_ckpt))
    early = state['meta']['iter']
    info = state['message_hub']['runtime_info']
    stream = info[STREAM_STATE]
    samples_per_iter, rest = divmod(stream['position'], early)
    assert rest == 0, stream
    state['meta']['iter'] = iters
    info['iter'] = iters - 1  # as the runner records it after iteration ``iters``
    info[STREAM_STATE] = dict(stream, position=iters * samples_per_iter)
    for scheduler in state['param_schedulers']:
        scheduler['last_step'] += iters - early
        scheduler['_global_step'] += iters - early
    work.mkdir(parents=True, exist_ok=True)
    torch.save(state, ckpt)
    print(f'{ckpt}: a copy of {early_ckpt} relabelled as iteration {iters} (stream position '
          f'{iters * samples_per_iter})', flush=True)
    return ckpt


def measure(ckpt, data, work, loop):
    """Run ``--child`` in a fresh process; its report."""
    return harness.fresh_process(__file__, ['--child', ckpt, data, work, loop], 1, env=ENV)


def child(ckpt, data, work, loop):
    """Resume ``ckpt`` for one iteration with ``loop``; print the seconds to its start."""
    from mmengine.config import DictAction
    from mmengine.hooks import Hook

    from restorelab.engine import launch

    iteration = int(Path(ckpt).stem.split('_')[1])  # iter_N.pth
    cfg = launch.load_config(str(TINY_CONFIG))
    opts = dict(item.split('=', 1) for item in options(data, work, iteration + 1, 10 ** 9))
    cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in opts.items()})
    if loop == 'mmengine':
        cfg.train_cfg.type = 'mmengine.IterBasedTrainLoop'
    launch.apply_reliability(cfg, training=True)
    launch.resolve_resume(cfg, str(ckpt))
    runner = launch.build_runner(cfg)
    marks = {}

    clock = harness.CLOCKS['wall']

    class FirstIteration(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            marks.setdefault('first', clock())

    runner.register_hook(FirstIteration(), 'VERY_HIGH')
    start = clock()
    runner.train()
    harness.emit(dict(iteration=iteration, loop=loop, seconds=marks['first'] - start,
                      resumed_at=runner.iter - 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scratch', default='work_dirs/resume_time')
    parser.add_argument('--per-image', type=int, default=30, help='rainy versions per photograph')
    parser.add_argument('--max-side', type=int, default=256)
    parser.add_argument('--early', type=int, default=10)
    parser.add_argument('--late', type=int, default=20000)
    parser.add_argument('--late-from-early', action='store_true',
                        help='relabel a copy of the early checkpoint as the late one, '
                        'instead of training --late iterations')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--mmengine-repeats', type=int, default=1,
                        help='runs with mmengine\'s loop (0: none)')
    harness.add_record_options(parser, '7 pairs of 32 pixels, checkpoints at iterations 2 and 4 (relabelled), '
                                       'one resume each (a check of the script; minutes)')
    parser.add_argument('--child', nargs=4, metavar=('CKPT', 'DATA', 'WORK', 'LOOP'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    if args.dry_run:
        args.per_image, args.max_side, args.early, args.late = 1, 32, 2, 4
        args.late_from_early, args.repeats, args.mmengine_repeats = True, 1, 1
    if not 0 < args.early < args.late or args.repeats < 1 or args.mmengine_repeats < 0:
        parser.error(f'expected 0 < --early < --late, --repeats >= 1 and --mmengine-repeats >= 0 (got '
                     f'{args.early}, {args.late}, {args.repeats}, {args.mmengine_repeats})')
    begun = harness.begin()
    scratch = Path(args.scratch).resolve()
    data, n = make_data(scratch, args.per_image, args.max_side)
    print(f'{n} training pairs in {data}', flush=True)
    ckpts = {args.early: train(data, scratch / f'train_{args.early}', args.early)}
    if args.late_from_early:
        ckpts[args.late] = relabel(ckpts[args.early], scratch / f'relabelled_{args.late}',
                                   args.late)
    else:
        ckpts[args.late] = train(data, scratch / f'train_{args.late}', args.late)
    runs = []
    for loop, repeats in (('restorelab', args.repeats), ('mmengine', args.mmengine_repeats)):
        times = {it: [] for it in ckpts}
        for _ in range(repeats):
            for it, ckpt in ckpts.items():  # early and late interleaved
                report = measure(ckpt, data, scratch / f'resume_{loop}_{it}', loop)
                assert report['resumed_at'] == it, report
                times[it].append(report['seconds'])
                print(f'{loop} loop, resume at iteration {it}: {report["seconds"]:.2f} s',
                      flush=True)
        if repeats:
            runs.append(dict(loop=loop, repeats=repeats, seconds={str(it): t for it, t in times.items()},
                             median={str(it): statistics.median(t) for it, t in times.items()}))
    print(f'\nseconds from runner.train() to the first resumed iteration (median of runs; '
          f'{n} training pairs, batch 2, 2 workers, torch threads 1)')
    results = dict(pairs=n, per_image=args.per_image, max_side=args.max_side, early=args.early,
                   late=args.late, late_from_early=args.late_from_early, batch=2, workers=2, threads=1,
                   loops=runs)
    print('\n'.join(tables.resume_time(results)))
    harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
