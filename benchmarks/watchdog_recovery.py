#!/usr/bin/env python
"""How long an injected hang costs a distributed run (issue 29): the time from the hang to the
watchdog's paragraph, to the restarted run's first resumed iteration, and to the finished run,
for the three hangs of tests/reliability/test_hangs_and_signals.py. A benchmark, not a test.

Each run is ``tools/dist_train.sh`` on 2 CPU processes (gloo) with ``MAX_RESTARTS``, the tiny
Restormer of ``tests/reliability/configs/tiny_watchdog.py`` for ``--iters`` iterations
(checkpoints every 3) on a generated Rain200-layout folder, ``--watchdog-timeout TIMEOUT``:

* ``collective``: rank 1 sleeps before iteration 5 (DDP's gradient all-reduce then waits);
* ``dataloader``: rank 1's DataLoader worker stops yielding after iteration 5 begins;
* ``never_joins``: rank 1 SIGKILLs itself in iteration 5; in the group torchrun starts again,
  it never joins the process group (it sleeps before init_process_group).

The hang's start is the moment the injected fault creates its marker file (for
``dataloader``, when the worker stops; the main process may still use batches the worker
loaded before). The paragraph's and the resumed iteration's times are when their lines reach
the launcher's output. An uninterrupted run of the same length gives the baseline. The
results record ``benchmarks/results/watchdog_recovery.json`` (``benchmarks/harness.py``) holds the
figures with the command, commit and the machine's load average.

    nice -n 10 python benchmarks/watchdog_recovery.py --scratch /tmp/wdr     # ~5 min idle
    python benchmarks/watchdog_recovery.py --dry-run --scratch /tmp/wdr_dry  # 2 iterations, no hang
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)

ROOT = harness.REPO_ROOT
SCRIPT = 'watchdog_recovery'
sys.path.insert(0, str(ROOT / 'tests' / 'tools'))

CONFIG = ROOT / 'tests' / 'reliability' / 'configs' / 'tiny_watchdog.py'

# name: (--cfg-options, environment, marker file in the work dir)
SCENARIOS = {
    'collective': (['custom_hooks.0.hang_rank=1', 'custom_hooks.0.hang_at=5',
                    'custom_hooks.0.hang_once=True'], {}, 'hung_rank1'),
    'dataloader': (['custom_hooks.0.stall_data_rank=1', 'custom_hooks.0.stall_data_at=5'], {},
                   'stalled_data'),
    'never_joins': (['custom_hooks.0.kill_rank=1', 'custom_hooks.0.kill_at=5'],
                    {'RESTORELAB_TEST_STALL_BEFORE_JOIN': '1:1:{work}/never_joined'},
                    'never_joined'),
}


def run(data, work, timeout, iters, options=(), env=None):
    """One tools/dist_train.sh run; (exit status, {line marker: first arrival time}, start,
    end)."""
    from tool_helpers import data_root_options
    cmd = ['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(CONFIG), '2', '--work-dir', work,
           '--watchdog-timeout', str(timeout), '--cfg-options', *data_root_options(data),
           f'train_dataloader.dataset.pipeline.0.work_dir={work}', f'train_cfg.max_iters={iters}',
           'train_cfg.val_interval=100000', 'default_hooks.checkpoint.interval=3',
           'default_hooks.checkpoint.max_keep_ckpts=100', *options]
    full = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1', PYTHON=sys.executable,
                MAX_RESTARTS='3', **{k: v.format(work=work) for k, v in (env or {}).items()})
    seen = {}
    markers = ('error: the watchdog stopped this run', 'resuming at iteration')
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def read(stream):
        for line in stream:
            now = time.time()
            for marker in markers:
                if marker in line and marker not in seen and \
                        (marker == markers[0] or markers[0] in seen):
                    seen[marker] = now

    readers = [threading.Thread(target=read, args=(s,)) for s in (proc.stdout, proc.stderr)]
    for reader in readers:
        reader.start()
    proc.wait()
    end = time.time()
    for reader in readers:
        reader.join()
    return proc.returncode, seen, start, end


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scratch', default='/tmp/watchdog_recovery')
    parser.add_argument('--timeout', type=float, default=10.0, help='--watchdog-timeout')
    parser.add_argument('--iters', type=int, default=12)
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--scenarios', default=','.join(SCENARIOS),
                        help=f'comma-separated, of {", ".join(SCENARIOS)} (empty: none)')
    parser.add_argument('--no-record', action='store_true', help='print only')
    harness.add_record_options(parser, 'the uninterrupted run alone, 2 iterations, no hang (a check of '
                                       'the script and its record)')
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(',') if s]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f'--scenarios {args.scenarios!r}: unknown {", ".join(unknown)}; '
                     f'expected some of {", ".join(SCENARIOS)}')
    if args.dry_run:
        args.iters, args.repeats, scenarios = 2, 1, []
    if args.repeats < 1 or (scenarios and args.iters < 6):
        parser.error(f'expected --repeats >= 1 and, with hangs (injected at iteration 5), --iters >= 6 '
                     f'(got {args.repeats}, {args.iters})')
    from tool_helpers import make_rain200_folder

    begun = harness.begin()
    scratch = Path(args.scratch)
    data = str(scratch / 'data')
    if not (scratch / 'data' / 'train').is_dir():
        make_rain200_folder(data, n_train=6, n_test=2)
    results = dict(timeout_s=args.timeout, iterations=args.iters, processes=2, runs={})
    baseline = []
    for i in range(args.repeats):
        code, _, start, end = run(data, str(scratch / f'straight{i}'), args.timeout, args.iters)
        if code:
            sys.exit(f'the uninterrupted run failed with status {code}')
        baseline.append(end - start)
        print(f'uninterrupted: {end - start:.1f} s', flush=True)
    results['uninterrupted_s'] = [round(t, 1) for t in baseline]
    for name in scenarios:
        options, env, marker = SCENARIOS[name]
        rows = []
        for i in range(args.repeats):
            work = str(scratch / f'{name}{i}')
            code, seen, start, end = run(data, work, args.timeout, args.iters, options, env)
            if code or len(seen) < 2:
                sys.exit(f'{name}: status {code}, lines seen: {sorted(seen)}')
            hang = os.path.getmtime(os.path.join(work, marker))
            row = dict(hang_to_paragraph_s=seen['error: the watchdog stopped this run'] - hang,
                       hang_to_resumed_s=seen['resuming at iteration'] - hang,
                       hang_to_finished_s=end - hang, run_s=end - start)
            rows.append({k: round(v, 1) for k, v in row.items()})
            print(f'{name}: ' + ', '.join(f'{k} {v:.1f}' for k, v in rows[-1].items()),
                  flush=True)
        results['runs'][name] = dict(
            runs=rows, median={k: round(statistics.median(r[k] for r in rows), 1)
                               for k in rows[0]})
    if not args.no_record:
        harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
