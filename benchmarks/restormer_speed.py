#!/usr/bin/env python
"""Restormer speed: the fast path (``Restormer(fast=True)``, the default) against the release's
formulation (``fast=False``). A benchmark, not a test.

Builds Restormer twice with the same weights (the release's initialisation, seed 0), checks first
that the two agree (float64 max abs difference on one image; float32 PSNR between the outputs of the
first timed run), then times each case two ways:

* ``interleaved``: plain and fast alternating in one process;
* ``fresh``: each formulation alone in its own fresh process (two models in one process share glibc's
  allocator state, which moves the measured ratio).

Cases: inference at 256x256 and at Rain200H size (321x481, reflect-padded to 328x488 as ImageRestorer
pads), and one training step (forward, L1 loss, backward, AdamW step) at batch 1, 2 and 4 on 128x128
patches. Per case: the first run (for inference, what a user deraining one photo meets) and the
median of the ``--runs`` runs after it (the steady state). Peak memory is the resident-set growth
during one run, each formulation in a fresh process. The timing, memory and agreement code is the
harness's (``benchmarks/harness.py``); the figures go to the record
``benchmarks/results/restormer_speed[-small].json``.

    python benchmarks/restormer_speed.py                   # full size, 1 thread, both modes (about an hour)
    python benchmarks/restormer_speed.py --small           # a small model and sizes, about a minute
    python benchmarks/restormer_speed.py --threads 1 2 --cases 0,2 --modes fresh
    python benchmarks/restormer_speed.py --profile 0 plain  # where the time goes: per stage and module, per op
    python benchmarks/restormer_speed.py --dry-run          # a tiny model, seconds (a check of the script)
"""
import argparse
import collections
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402
from harness import make_input, make_runner  # noqa: E402

import torch  # noqa: E402

from restorelab.models.archs.common import ChannelLayerNorm  # noqa: E402
from restorelab.models.archs.restormer import GDFN, MDTA, Restormer  # noqa: E402

CONFIGS = {
    'full': dict(model=dict(), check_size=(64, 64),
                 cases=[('inference 256x256', 'infer', (1, 256, 256)),
                        ('inference 321x481', 'infer', (1, 321, 481)),
                        ('train step 1x128x128', 'train', (1, 128, 128)),
                        ('train step 2x128x128', 'train', (2, 128, 128)),
                        ('train step 4x128x128', 'train', (4, 128, 128))]),
    'small': dict(model=dict(dim=16, num_blocks=(1, 1, 2, 2), num_refinement_blocks=1), check_size=(32, 32),
                  cases=[('inference 64x64', 'infer', (1, 64, 64)),
                         ('inference 81x121', 'infer', (1, 81, 121)),
                         ('train step 1x64x64', 'train', (1, 64, 64)),
                         ('train step 2x64x64', 'train', (2, 64, 64)),
                         ('train step 4x64x64', 'train', (4, 64, 64))]),
    'dry-run': dict(model=dict(dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1, heads=(1, 2, 2, 4)),
                    check_size=(16, 16),
                    cases=[('inference 16x16', 'infer', (1, 16, 16)),
                           ('train step 1x16x16', 'train', (1, 16, 16))]),
}
SCRIPT = 'restormer_speed'
IMPLS = ('plain', 'fast')


def build(model_cfg, impl):
    """Restormer with the release's initialisation (seed 0): ``fast=True`` for 'fast', and for 'plain'
    the ``fast=False`` model holding the same weights."""
    torch.manual_seed(0)
    net = Restormer(**model_cfg)
    if impl == 'fast':
        return net
    plain = Restormer(**model_cfg, fast=False)
    plain.load_state_dict(net.state_dict())
    return plain


def float64_check(model_cfg, size):
    """Max abs difference of the two formulations in float64 on one random image of ``size``."""
    plain, fast = (build(model_cfg, impl).double().eval() for impl in IMPLS)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        return harness.max_abs_diff(plain(x), fast(x))


def child(cfg, case_index, impl, what, runs, clock='wall'):
    """(Fresh process) time ``runs`` + 1 runs of one formulation on one case (the first also gives
    the peak memory), or measure only the peak memory of one run; print the result as JSON."""
    _, kind, shape = cfg['cases'][case_index]
    x, gt = make_input(kind, shape)
    run = make_runner(build(cfg['model'], impl), kind, x, gt)
    if what == 'memory':
        harness.emit(dict(peak_mb=harness.peak_memory_mb(run)[1]))
    else:
        harness.emit(harness.measure_here(run, runs, 1, clock))


def profile(cfg, case_index, impl, threads, rows=15):
    """Where one run's time goes (after one untimed run): wall time per stage and module type (MDTA,
    GDFN, layer norm; forward only) and torch.profiler's table of operators by self time."""
    from torch.profiler import profile as torch_profile
    harness.set_threads(threads)
    name, kind, shape = cfg['cases'][case_index]
    x, gt = make_input(kind, shape)
    model = build(cfg['model'], impl)
    run = make_runner(model, kind, x, gt)
    run()
    times = collections.defaultdict(float)
    stage = {m: n.split('.')[0] for n, m in model.named_modules()}

    def timed_method(cls, method):
        original = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            out = original(self, *args, **kwargs)
            times[f'{stage[self]} {cls.__name__}'] += time.perf_counter() - start
            return out
        setattr(cls, method, wrapper)
        return original

    patched = [(cls, method, timed_method(cls, method)) for cls, method in
               ((MDTA, f'forward_{impl}'), (GDFN, f'forward_{impl}'), (ChannelLayerNorm, 'forward'))]
    try:
        with torch_profile() as prof:
            total, _ = harness.timed(run)
    finally:
        for cls, method, original in patched:
            setattr(cls, method, original)
    print(f'# {name}, {impl}, {threads} thread(s): {total:.2f} s, load {harness.load_average()}')
    print('| stage and module (forward) | s | share |\n|---|---|---|')
    for key, t in sorted(times.items(), key=lambda kv: -kv[1])[:rows]:
        print(f'| {key} | {t:.2f} | {100 * t / total:.1f}% |')
    print(f'| everything else (forward and backward) | {total - sum(times.values()):.2f} | '
          f'{100 * (total - sum(times.values())) / total:.1f}% |')
    print()
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def interleaved(cfg, case_index, runs, clock='wall'):
    """Both formulations alternating in this process: ({impl: summary}, {impl: agreement with the
    fast one}) from the outputs of the first run (same weights; training updates them afterwards)."""
    _, kind, shape = cfg['cases'][case_index]
    x, gt = make_input(kind, shape)
    runners = {impl: make_runner(build(cfg['model'], impl), kind, x, gt) for impl in IMPLS}
    figures, first = harness.interleaved(runners, runs, warmup=1, clock=clock)
    agreement = dict(plain=dict(max_abs=harness.max_abs_diff(first['plain'], first['fast']),
                                psnr_db=harness.agreement_db(first['plain'], first['fast'])))
    return figures, agreement


def child_args(args, threads):
    return ['--runs', args.runs, '--threads', threads, '--clock', args.clock] \
        + (['--small'] if args.small else []) \
        + (['--dry-run'] if args.dry_run else [])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--small', action='store_true', help='a small model and sizes, for a quick run')
    parser.add_argument('--runs', type=int, default=5, help='timed runs after the first (median: steady state)')
    parser.add_argument('--threads', type=int, nargs='+', default=[1], help='torch thread counts to run (default 1)')
    parser.add_argument('--cases', default=None, help='comma-separated case numbers (default all), e.g. 0,2')
    parser.add_argument('--modes', nargs='+', choices=('interleaved', 'fresh'), default=['interleaved', 'fresh'])
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    parser.add_argument('--clock', choices=tuple(harness.CLOCKS), default='wall',
                        help='wall: elapsed time (default); cpu: the process\'s CPU time, which leaves out '
                        'waiting for a core on a shared machine (meaningful with --threads 1)')
    parser.add_argument('--profile', nargs=2, metavar=('CASE', 'IMPL'),
                        help="profile one run of one case of 'plain' or 'fast' (at the first --threads) and exit")
    harness.add_record_options(parser, 'a tiny model and sizes, one run after the first: seconds (a check '
                                       'of the script)')
    parser.add_argument('--child', nargs=3, metavar=('CASE', 'IMPL', 'WHAT'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dry_run:
        args.small, args.runs = False, 1
    size = 'dry-run' if args.dry_run else 'small' if args.small else 'full'
    cfg = CONFIGS[size]
    if args.runs < 1 or min(args.threads) < 1:
        parser.error(f'--runs and --threads must be >= 1 (got {args.runs}, {args.threads})')
    if args.child:
        case, impl, what = args.child
        harness.set_threads(args.threads[0])
        child(cfg, int(case), impl, what, args.runs, args.clock)
        return 0
    if args.profile:
        if args.profile[1] not in IMPLS or not args.profile[0].isdigit() \
                or int(args.profile[0]) >= len(cfg['cases']):
            parser.error(f'--profile {" ".join(args.profile)}: expected a case number from 0 to '
                         f'{len(cfg["cases"]) - 1} and one of {IMPLS}')
        profile(cfg, int(args.profile[0]), args.profile[1], args.threads[0])
        return 0
    try:
        indices = list(range(len(cfg['cases']))) if args.cases is None else [int(i) for i in args.cases.split(',')]
        if not all(0 <= i < len(cfg['cases']) for i in indices):
            raise ValueError
    except ValueError:
        parser.error(f'--cases {args.cases!r}: expected comma-separated numbers from 0 to {len(cfg["cases"]) - 1} '
                     f'({", ".join(f"{i}: {c[0]}" for i, c in enumerate(cfg["cases"]))})')

    begun = harness.begin()
    print(f'# torch {torch.__version__}, {harness.machine()["cores"]} CPUs, threads {args.threads}, '
          f'load average at start {begun["load_average"]}')
    print(f'# model: Restormer({cfg["model"] or "release defaults"}), first run + median of {args.runs} after it, '
          f'modes {args.modes}, {args.clock} clock')
    harness.set_threads(args.threads[0])
    diff64 = float64_check(cfg['model'], cfg['check_size'])
    print(f'# float64 max abs difference at {cfg["check_size"][0]}x{cfg["check_size"][1]}: {diff64:.2e}', flush=True)

    memory = {}
    if not args.no_memory and 'fresh' not in args.modes:
        for index in indices:
            memory[index] = {impl: harness.peak_memory_child(
                __file__, ['--child', index, impl, 'memory', *child_args(args, args.threads[0])], args.threads[0])
                for impl in IMPLS}
            print(f'# peak memory {cfg["cases"][index][0]}: ' + ', '.join(
                f'{impl} {memory[index][impl]:.0f} MB' for impl in IMPLS), flush=True)

    cases = []
    for threads in args.threads:
        harness.set_threads(threads)
        for index in indices:
            name, kind, shape = cfg['cases'][index]
            row = dict(case=name, kind=kind, shape=list(shape), threads=threads)
            for mode in args.modes:
                if mode == 'interleaved':
                    row['interleaved'], row['agreement'] = interleaved(cfg, index, args.runs, args.clock)
                else:
                    row['fresh'] = {impl: harness.fresh_process(
                        __file__, ['--child', index, impl, 'time', *child_args(args, threads)], threads)
                        for impl in IMPLS}
                    row['repeats'] = 1
                row['load_average'] = harness.load_average()
                print(f'# {name}, {threads} thread(s), {mode}: ' + ', '.join(
                    f'{impl} {f["times"]} s' for impl, f in row[mode].items()) + f', load {row["load_average"]}',
                    flush=True)
            if index in memory:
                row['peak_mb'] = memory[index]
            elif 'fresh' in row and not args.no_memory:
                row['peak_mb'] = {impl: f['peak_mb'] for impl, f in row['fresh'].items()}
            cases.append(row)

    results = dict(size=size, model=copy.deepcopy(cfg['model']) or 'release defaults', implementations=list(IMPLS),
                   fast='fast', modes=args.modes, clock=args.clock, threads=args.threads, runs=args.runs, warmup=1,
                   float64_max_abs=diff64, float64_size=list(cfg['check_size']), cases=cases)
    print()
    print('\n'.join(tables.speed(results)))
    print(f'\nload average at end {harness.load_average()}')
    harness.finish(args, SCRIPT, results, begun, variant='small' if args.small else None, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
