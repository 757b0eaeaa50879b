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
during one run, each formulation in a fresh process.

    python benchmarks/restormer_speed.py                   # full size, 1 thread, both modes (about an hour)
    python benchmarks/restormer_speed.py --small           # a small model and sizes, about a minute
    python benchmarks/restormer_speed.py --threads 1 2 --cases 0,2 --modes fresh
    python benchmarks/restormer_speed.py --profile 0 plain  # where the time goes: per stage and module, per op
"""
import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _speed import make_input, make_runner, peak_growth_mb, psnr, ratio, run_child, summary, timed  # noqa: E402
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
}
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
        return (plain(x) - fast(x)).abs().max().item()


def child(size, case_index, impl, what, runs):
    """(Fresh process) time ``runs`` + 1 runs, or measure the peak memory of one run, of one
    formulation on one case; print the result as JSON."""
    _, kind, shape = CONFIGS[size]['cases'][case_index]
    x, gt = make_input(kind, shape)
    run = make_runner(build(CONFIGS[size]['model'], impl), kind, x, gt)
    if what == 'memory':
        print(json.dumps(dict(peak_mb=peak_growth_mb(run))))
    else:
        print(json.dumps(summary([timed(run)[0] for _ in range(runs + 1)])))


def profile(cfg, case_index, impl, threads, rows=15):
    """Where one run's time goes (after one untimed run): wall time per stage and module type (MDTA,
    GDFN, layer norm; forward only) and torch.profiler's table of operators by self time."""
    from torch.profiler import profile as torch_profile
    torch.set_num_threads(threads)
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
            total, _ = timed(run)
    finally:
        for cls, method, original in patched:
            setattr(cls, method, original)
    print(f'# {name}, {impl}, {threads} thread(s): {total:.2f} s, load {" ".join(f"{v:.2f}" for v in os.getloadavg())}')
    print('| stage and module (forward) | s | share |\n|---|---|---|')
    for key, t in sorted(times.items(), key=lambda kv: -kv[1])[:rows]:
        print(f'| {key} | {t:.2f} | {100 * t / total:.1f}% |')
    print(f'| everything else (forward and backward) | {total - sum(times.values()):.2f} | '
          f'{100 * (total - sum(times.values())) / total:.1f}% |')
    print()
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def interleaved(cfg, case_index, runs):
    """Both formulations alternating in this process: ({impl: summary}, max abs diff, PSNR dB) with the
    outputs of the first run (same weights; training updates them afterwards)."""
    _, kind, shape = cfg['cases'][case_index]
    x, gt = make_input(kind, shape)
    runners = {impl: make_runner(build(cfg['model'], impl), kind, x, gt) for impl in IMPLS}
    times, first = {impl: [] for impl in IMPLS}, {}
    for r in range(runs + 1):
        for impl, run in runners.items():
            elapsed, out = timed(run)
            times[impl].append(elapsed)
            if r == 0:
                first[impl] = out
    diff = (first['plain'] - first['fast']).abs().max().item()
    return {impl: summary(t) for impl, t in times.items()}, diff, psnr(first['fast'], first['plain'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--small', action='store_true', help='a small model and sizes, for a quick run')
    parser.add_argument('--runs', type=int, default=5, help='timed runs after the first (median: steady state)')
    parser.add_argument('--threads', type=int, nargs='+', default=[1], help='torch thread counts to run (default 1)')
    parser.add_argument('--cases', default=None, help='comma-separated case numbers (default all), e.g. 0,2')
    parser.add_argument('--modes', nargs='+', choices=('interleaved', 'fresh'), default=['interleaved', 'fresh'])
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    parser.add_argument('--profile', nargs=2, metavar=('CASE', 'IMPL'),
                        help="profile one run of one case of 'plain' or 'fast' (at the first --threads) and exit")
    parser.add_argument('--child', nargs=4, metavar=('CASE', 'IMPL', 'WHAT', 'THREADS'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = 'small' if args.small else 'full'
    cfg = CONFIGS[size]
    if args.runs < 1:
        parser.error(f'--runs must be >= 1 (got {args.runs})')
    if args.child:
        case, impl, what, threads = args.child
        torch.set_num_threads(int(threads))
        child(size, int(case), impl, what, args.runs)
        return
    if args.profile:
        if args.profile[1] not in IMPLS or not args.profile[0].isdigit() \
                or int(args.profile[0]) >= len(cfg['cases']):
            parser.error(f'--profile {" ".join(args.profile)}: expected a case number from 0 to '
                         f'{len(cfg["cases"]) - 1} and one of {IMPLS}')
        profile(cfg, int(args.profile[0]), args.profile[1], args.threads[0])
        return
    try:
        indices = list(range(len(cfg['cases']))) if args.cases is None else [int(i) for i in args.cases.split(',')]
        if not all(0 <= i < len(cfg['cases']) for i in indices):
            raise ValueError
    except ValueError:
        parser.error(f'--cases {args.cases!r}: expected comma-separated numbers from 0 to {len(cfg["cases"]) - 1} '
                     f'({", ".join(f"{i}: {c[0]}" for i, c in enumerate(cfg["cases"]))})')

    def load():
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())

    print(f'# torch {torch.__version__}, {os.cpu_count()} CPUs, threads {args.threads}, load average at start {load()}')
    print(f'# model: Restormer({cfg["model"] or "release defaults"}), first run + median of {args.runs} after it, '
          f'modes {args.modes}')
    torch.set_num_threads(args.threads[0])
    print(f'# float64 max abs difference at {cfg["check_size"][0]}x{cfg["check_size"][1]}: '
          f'{float64_check(cfg["model"], cfg["check_size"]):.2e}', flush=True)

    memory = {}
    if not args.no_memory:
        for index in indices:
            memory[index] = {impl: run_child(__file__, ['--child', str(index), impl, 'memory', str(args.threads[0])]
                                             + (['--small'] if args.small else []), args.threads[0])['peak_mb']
                             for impl in IMPLS}
            print(f'# peak memory {cfg["cases"][index][0]}: ' + ', '.join(
                f'{impl} {memory[index][impl]:.0f} MB' for impl in IMPLS), flush=True)

    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for index in indices:
            name = cfg['cases'][index][0]
            for mode in args.modes:
                agree = ''
                if mode == 'interleaved':
                    result, diff, db = interleaved(cfg, index, args.runs)
                    agree = f'{diff:.1e} / {db:.1f}'
                else:
                    result = {impl: run_child(__file__, ['--child', str(index), impl, 'time', str(threads),
                                                         '--runs', str(args.runs)]
                                              + (['--small'] if args.small else []), threads)
                              for impl in IMPLS}
                rows.append((name, threads, mode, result, agree))
                print(f'# {name}, {threads} thread(s), {mode}: ' + ', '.join(
                    f'{impl} {result[impl]["times"]} s' for impl in IMPLS) + f', load {load()}', flush=True)

    print()
    print('| case | threads | mode | plain first s | fast first s | ratio first | plain median s | fast median s '
          '| ratio median | max abs diff / PSNR dB (fp32) |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, threads, mode, r, agree in rows:
        p, f = r['plain'], r['fast']
        print(f'| {name} | {threads} | {mode} | {p["first"]:.2f} | {f["first"]:.2f} | {ratio(p["first"], f["first"])} '
              f'| {p["median"]:.2f} | {f["median"]:.2f} | {ratio(p["median"], f["median"])} | {agree or "-"} |')
    if memory:
        print()
        print(f'| case | peak MB plain | peak MB fast | fast / plain |  (one run, fresh process, '
              f'{args.threads[0]} thread(s))')
        print('|---|---|---|---|')
        for index, m in memory.items():
            print(f'| {cfg["cases"][index][0]} | {m["plain"]:.0f} | {m["fast"]:.0f} | {m["fast"] / m["plain"]:.2f} |')
    print(f'\nload average at end {load()}')


if __name__ == '__main__':
    main()
