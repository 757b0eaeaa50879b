#!/usr/bin/env python
"""DRSformer speed: the plugin's fast path against the release's straightforward formulation (issue 8).

Builds the plugin's DRSformer twice with the same weights: ``fast=False`` ("reference": the release's
maths and NCHW layout, module by module: four masked softmaxes and products, grouped convs with
chunk/cat, layer norms over the channels, concatenated MEFC experts) and ``fast=True`` ("optimised"),
checks that they agree (float64 max abs difference, float32 PSNR between outputs), then times
inference at 256x256 and at Rain200H size (321x481, reflect-padded to 328x488 as ImageRestorer does)
and one training step (batch 4 at 128x128: forward, L1 loss, backward, AdamW step). Peak memory is
the growth of the resident set during one run in a fresh process. A benchmark, not a test; the
timing, memory and agreement code is the harness's (``benchmarks/harness.py``), and the run's
figures go to the record ``benchmarks/results/drsformer_speed[-small].json``.

Two ways of timing (``--mode``), because the ratio depends on the allocator state the implementations share:

* ``interleaved``: reference and optimised alternate in one process, medians over ``--runs`` runs after
  ``--warmup``. glibc raises its mmap threshold (up to 32 MB) whenever a large mapped block is freed, so
  one model's big frees change how the other's tensors are allocated.
* ``fresh``: each implementation in its own new process, as a user meets it: ``first`` is the first
  full-size run (deraining one photo: first call included, model already built; its peak memory is
  the one recorded), ``steady`` the median of the ``--runs`` runs after it (training for days).
  Processes alternate reference, optimised, ... ``--repeats`` times; the table gives the median over
  repeats.

``--clock cpu`` times with the process's CPU time (user + system, page faults included) instead of the
wall clock: with one thread on a shared machine it leaves out the time the process waited for a core
(it still includes what sharing the caches and memory bus costs).

``--official FILE`` adds the release's module (its ``DRSformer_arch.py``, kept outside the repository)
as a third implementation with the same weights (converted by the plugin's converter), so that the
reference formulation's speed can be checked against the code it reproduces.

    python benchmarks/drsformer_speed.py            # full-size model, both modes (an hour or more on 2 CPU cores)
    python benchmarks/drsformer_speed.py --small    # a small model and sizes, a few minutes
    python benchmarks/drsformer_speed.py --dry-run  # a tiny model, seconds (a check of the script)
"""
import argparse
import copy
import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

import torch  # noqa: E402

from projects.drsformer.drsformer import DRSformer  # noqa: E402
from restorelab.models.archs import common  # noqa: E402

SCRIPT = 'drsformer_speed'
CONFIGS = {
    'full': dict(model=dict(), check_size=(64, 64),
                 cases=[('inference 256x256', 'infer', (1, 256, 256)),
                        ('inference 321x481', 'infer', (1, 321, 481)),
                        ('train step 4x128x128', 'train', (4, 128, 128))]),
    'small': dict(model=dict(dim=16, num_blocks=(1, 1, 2, 2), heads=(1, 2, 4, 8)), check_size=(32, 32),
                  cases=[('inference 64x64', 'infer', (1, 64, 64)),
                         ('inference 81x121', 'infer', (1, 81, 121)),
                         ('train step 2x64x64', 'train', (2, 64, 64))]),
    'dry-run': dict(model=dict(dim=8, num_blocks=(1, 1, 1, 1), heads=(1, 1, 2, 2)), check_size=(16, 16),
                    cases=[('inference 16x16', 'infer', (1, 16, 16)),
                           ('train step 1x16x16', 'train', (1, 16, 16))]),
}


def load_official(path):
    """The release's module file, imported from ``path`` (outside the repository)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f'--official: {path} is not a file (expected the release\'s DRSformer_arch.py)')
    spec = importlib.util.spec_from_file_location('official_drsformer_arch', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_kwargs(model_cfg):
    """The release's constructor arguments for one of this script's model configs."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in model_cfg.items()}


def build(model_cfg, official=None):
    """{'reference', 'optimised'[, 'official']}: the plugin's DRSformer with the release's initialisation
    (seed 0) and the same model built with ``fast=False`` holding a copy of its weights; with ``official``
    (the release's module), the release's model (seed 0) and both of the plugin's holding its weights."""
    torch.manual_seed(0)
    models = {}
    if official is not None:
        from restorelab.registry import CHECKPOINT_CONVERTERS
        models['official'] = official.DRSformer(**official_kwargs(model_cfg))
        weights = CHECKPOINT_CONVERTERS.get('drsformer')(models['official'].state_dict())
    net = DRSformer(**model_cfg)
    if official is not None:
        net.load_state_dict(weights)
    reference = DRSformer(**model_cfg, fast=False)
    reference.load_state_dict(net.state_dict())
    return dict(reference=reference, optimised=net, **models)


def switch_runners(args, net, kind, x, gt):
    """Runners of the optimised model with the optional switches asked for (``--bf16``, ``--compile``),
    each on its own copy of the weights; compilation happens here, outside the timed runs."""
    runners = {}
    if args.blas_pointwise:
        run = harness.make_runner(copy.deepcopy(net), kind, x, gt)

        def blas_pointwise_run():
            with common.onednn_pointwise(False):
                return run()
        runners['optimised, 1x1 convs by F.conv2d'] = blas_pointwise_run
    if args.bf16:
        runners['optimised + bf16'] = harness.make_runner(copy.deepcopy(net), kind, x, gt, bf16=True)
    if args.compile and kind == 'infer':
        compiled = torch.compile(copy.deepcopy(net).eval())
        run = harness.make_runner(compiled, kind, x, gt)
        start = time.perf_counter()
        run()
        print(f'# torch.compile: first call (compilation) {time.perf_counter() - start:.1f} s', flush=True)
        runners['optimised + compile'] = run
    return runners


def reuse_freed_memory():
    """glibc: serve allocations below 1 GB from the heap and never trim it, so a freed activation's pages
    are reused by the next one instead of being unmapped and faulted in (zeroed) again."""
    import ctypes
    libc = ctypes.CDLL('libc.so.6')
    m_trim_threshold, m_mmap_threshold = -1, -3
    if not (libc.mallopt(m_mmap_threshold, ctypes.c_int(1 << 30))
            and libc.mallopt(m_trim_threshold, ctypes.c_int(2 ** 31 - 1))):
        raise RuntimeError('mallopt refused the thresholds')


def case_runner(args, cfg, case_index, impl, official):
    """(Child process) the runner of one implementation on one case."""
    _, kind, shape = cfg['cases'][case_index]
    if impl == 'optimised-blas-pointwise':  # --blas-pointwise's variant
        common.set_onednn_pointwise(False)
        impl = 'optimised'
    model = build(cfg['model'], official)[impl]
    x, gt = harness.make_input(kind, shape)
    return harness.make_runner(model, kind, x, gt)


def child_args(args):
    """The options a child process needs to rebuild this run's models and cases."""
    out = ['--threads', args.threads, '--runs', args.runs, '--clock', args.clock]
    if args.train_batch is not None:
        out += ['--train-batch', args.train_batch]
    for flag in ('small', 'dry_run', 'reuse_freed_memory'):
        if getattr(args, flag):
            out.append('--' + flag.replace('_', '-'))
    if args.official:
        out += ['--official', args.official]
    return out


def fresh_cases(args, cfg, indices, impls):
    """Per case: each implementation in ``--repeats`` new processes (alternating): the medians over
    repeats of the first run, of the steady state and of the first run's peak memory."""
    out = {}
    for index in indices:
        name = cfg['cases'][index][0]
        runs = {i: [] for i in impls}
        for _ in range(args.repeats):
            for impl in impls:
                runs[impl].append(harness.fresh_process(
                    __file__, ['--probe-time', index, impl, *child_args(args)], args.threads))
        out[index] = {impl: dict(first=statistics.median(r['first'] for r in rs),
                                 steady=statistics.median(r['steady'] for r in rs),
                                 peak_mb=statistics.median(r['peak_mb'] for r in rs)
                                 if all(r.get('peak_mb') is not None for r in rs) else None,
                                 repeats=rs) for impl, rs in runs.items()}
        print(f'# fresh processes, {name}: ' + ', '.join(
            f'{impl} first {[round(r["first"], 2) for r in rs]} s, steady {[round(r["steady"], 2) for r in rs]} s'
            for impl, rs in runs.items()) + f', load {harness.load_average()}', flush=True)
    return out


def float64_check(model_cfg, size):
    """Max abs difference of the two formulations in float64 on one random image of ``size``."""
    models = build(model_cfg)
    ref, net = models['reference'].double().eval(), models['optimised'].double().eval()
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        return harness.max_abs_diff(ref(x), net(x))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--small', action='store_true', help='a small model and sizes, for a quick run')
    parser.add_argument('--runs', type=int, default=5, help='timed runs per implementation and case (median)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed runs first')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default 1: on a shared machine, 2-thread OpenMP runs spend most of '
                             'their time waiting for a descheduled thread, and their times swing tenfold)')
    parser.add_argument('--cases', default=None, help='comma-separated case numbers to run (default all), e.g. 0,2')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    parser.add_argument('--train-batch', type=int, default=None,
                        help='batch of the training case (default 4, 2 with --small); the full-size reference '
                             'needs tens of GB at 4')
    parser.add_argument('--optimised-only', action='store_true',
                        help='time only the optimised model (for sizes whose reference step does not fit in memory)')
    parser.add_argument('--bf16', action='store_true',
                        help='also time the optimised model under bfloat16 autocast (test_cfg.bf16 / --amp)')
    parser.add_argument('--compile', action='store_true',
                        help='also time a torch.compile\'d optimised model (inference cases; compilation '
                        'takes minutes and is not timed)')
    parser.add_argument('--blas-pointwise', action='store_true',
                        help='also time the optimised model with its 1x1 convs by F.conv2d (PyTorch\'s choice: '
                        'im2col + BLAS at one thread) instead of oneDNN (common.onednn_pointwise(False))')
    parser.add_argument('--reuse-freed-memory', action='store_true',
                        help='raise glibc\'s mmap threshold first, so freed large blocks are reused instead '
                        'of returned to the system and page-faulted in again (affects both formulations)')
    parser.add_argument('--mode', choices=('both', 'interleaved', 'fresh'), default='both',
                        help='interleaved: the implementations alternate in one process; fresh: each in its own '
                        'new process (first run and steady state); both (default)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='new processes per implementation and case in the fresh mode (median)')
    parser.add_argument('--official', metavar='FILE',
                        help="the release's DRSformer_arch.py (outside the repository): timed as a third "
                        'implementation with the same weights')
    parser.add_argument('--clock', choices=tuple(harness.CLOCKS), default='wall',
                        help='wall: elapsed time (default); cpu: the process\'s CPU time, which leaves out '
                        'waiting for a core on a shared machine (meaningful with --threads 1)')
    harness.add_record_options(parser, 'a tiny model and sizes, one run and one repeat: seconds (a check '
                                       'of the script)')
    parser.add_argument('--probe-memory', nargs=2, metavar=('CASE', 'IMPL'),
                        help='print the peak resident-set growth of one run of IMPL (reference, optimised, '
                        'official, optimised-blas-pointwise) on CASE in this process, as JSON')
    parser.add_argument('--probe-time', nargs=2, metavar=('CASE', 'IMPL'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error(f'--runs and --repeats must be >= 1 and --warmup >= 0 '
                     f'(got {args.runs}, {args.repeats}, {args.warmup})')
    if args.train_batch is not None and args.train_batch < 1:
        parser.error(f'--train-batch must be >= 1 (got {args.train_batch})')
    if args.dry_run:
        args.small = False
        args.runs, args.repeats = min(args.runs, 1), 1
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    official = load_official(args.official) if args.official else None
    harness.set_threads(args.threads)
    if args.reuse_freed_memory:
        reuse_freed_memory()
    size = 'dry-run' if args.dry_run else 'small' if args.small else 'full'
    cfg = copy.deepcopy(CONFIGS[size])
    if args.train_batch is not None:
        name, kind, (_, h, w) = cfg['cases'][-1]
        cfg['cases'][-1] = (f'train step {args.train_batch}x{h}x{w}', kind, (args.train_batch, h, w))
    for flag in ('probe_memory', 'probe_time'):
        probe = getattr(args, flag)
        if probe:
            if not probe[0].isdigit() or int(probe[0]) >= len(cfg['cases']):
                parser.error(f'--{flag.replace("_", "-")} {probe[0]}: expected a case number from 0 to '
                             f'{len(cfg["cases"]) - 1}')
            run = case_runner(args, cfg, int(probe[0]), probe[1], official)
            if flag == 'probe_memory':
                harness.emit(dict(peak_mb=harness.peak_memory_mb(run)[1]))
            else:
                harness.emit(harness.measure_here(run, args.runs, 1, args.clock))
            return 0
    try:
        indices = list(range(len(cfg['cases']))) if args.cases is None else [int(i) for i in args.cases.split(',')]
        if not all(0 <= i < len(cfg['cases']) for i in indices):
            raise ValueError
    except ValueError:
        parser.error(f'--cases {args.cases!r}: expected comma-separated numbers from 0 to {len(cfg["cases"]) - 1} '
                     f'({", ".join(f"{i}: {c[0]}" for i, c in enumerate(cfg["cases"]))})')
    begun = harness.begin()
    impls = ['reference', 'optimised'] if not args.optimised_only else ['optimised']
    if official is not None:
        impls.insert(0, 'official')

    print(f'# torch {torch.__version__}, {args.threads} threads, {harness.machine()["cores"]} CPUs, '
          f'{args.clock} clock, load average at start {begun["load_average"]}')
    print(f'# model: DRSformer({cfg["model"] or "release defaults"}), runs {args.runs} after {args.warmup} warm-up, '
          + f'implementations {", ".join(impls)}, mode {args.mode}'
          + (f', {args.repeats} new processes each' if args.mode != 'interleaved' else ''))
    diff64 = float64_check(cfg['model'], cfg['check_size'])
    print(f'# float64 max abs difference at {cfg["check_size"][0]}x{cfg["check_size"][1]}: {diff64:.2e}', flush=True)

    cases = {index: dict(case=cfg['cases'][index][0], kind=cfg['cases'][index][1],
                         shape=list(cfg['cases'][index][2]), threads=args.threads) for index in indices}
    switches = []
    for index in indices if args.mode != 'fresh' else ():
        row = cases[index]
        _, kind, shape = cfg['cases'][index]
        if args.mode == 'interleaved' and not args.no_memory:
            # Peak memory first, in child processes, while this process holds no activations: after the
            # timed runs its heap keeps freed blocks, and with a child's training step both exceeded 24 GB.
            row['peak_mb'] = {impl: harness.peak_memory_child(
                __file__, ['--probe-memory', index, impl, *child_args(args)], args.threads) for impl in impls}
        models = build(cfg['model'], official)
        x, gt = harness.make_input(kind, shape)
        extra = switch_runners(args, models['optimised'], kind, x, gt)
        runners = {impl: harness.make_runner(models[impl], kind, x, gt) for impl in impls}
        runners.update(extra)
        del models
        figures, outputs = harness.interleaved(runners, args.runs, args.warmup, args.clock)
        row['input'] = list(x.shape[-2:])
        row['interleaved'] = {impl: figures[impl] for impl in impls}
        row['agreement'] = {impl: dict(max_abs=harness.max_abs_diff(outputs[impl], outputs['optimised']),
                                       psnr_db=harness.agreement_db(outputs[impl], outputs['optimised']))
                            for impl in impls if impl != 'optimised'}
        if 'reference' in figures:
            for impl in extra:
                switches.append(dict(case=row['case'], variant=impl, steady=figures[impl]['steady'],
                                     reference_steady=figures['reference']['steady'],
                                     max_abs=harness.max_abs_diff(outputs['reference'], outputs[impl]),
                                     psnr_db=harness.agreement_db(outputs[impl], outputs['reference'])))
        row['load_average'] = harness.load_average()
        del runners, outputs, extra
        print(f'# {row["case"]}: ' + ', '.join(f'{impl} {f["times"]} s' for impl, f in figures.items())
              + f', load {row["load_average"]}', flush=True)
    if args.mode != 'interleaved':
        for index, figures in fresh_cases(args, cfg, indices, impls).items():
            cases[index]['fresh'] = figures
            cases[index]['repeats'] = args.repeats
            cases[index].setdefault('peak_mb', {impl: f['peak_mb'] for impl, f in figures.items()})

    results = dict(size=size, model=cfg['model'] or 'release defaults', implementations=impls,
                   fast='optimised', mode=args.mode, clock=args.clock, threads=args.threads, runs=args.runs,
                   warmup=args.warmup, repeats=args.repeats, official=args.official is not None,
                   reuse_freed_memory=args.reuse_freed_memory,
                   float64_max_abs=diff64, float64_size=list(cfg['check_size']),
                   cases=list(cases.values()), switches=switches)
    print()
    print('\n'.join(tables.speed(results)))
    if switches:
        print('\nOptional switches (off by default), against the same reference run:\n')
        print('\n'.join(tables.switches(results)))
    print(f'\nload average at end {harness.load_average()}')
    harness.finish(args, SCRIPT, results, begun, variant='small' if args.small else None, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
