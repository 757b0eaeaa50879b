#!/usr/bin/env python
"""DRSformer speed: the plugin's fast path against the release's straightforward formulation (issue 8).

Builds the plugin's DRSformer twice with the same weights: ``fast=False`` ("reference": the release's
maths and NCHW layout, module by module: four masked softmaxes and products, grouped convs with
chunk/cat, layer norms over the channels, concatenated MEFC experts) and ``fast=True`` ("optimised"),
checks that they agree (float64 max abs difference, float32 PSNR between outputs), then times
inference at 256x256 and at Rain200H size (321x481, reflect-padded to 328x488 as ImageRestorer does)
and one training step (batch 4 at 128x128: forward, L1 loss, backward, AdamW step); peak memory is the
growth of the resident set during one run, each measured in a fresh subprocess. A benchmark, not a test.

Two ways of timing (``--mode``), because the ratio depends on the allocator state the implementations share:

* ``interleaved``: reference and optimised alternate in one process, medians over ``--runs`` runs after
  ``--warmup``. glibc raises its mmap threshold (up to 32 MB) whenever a large mapped block is freed, so
  one model's big frees change how the other's tensors are allocated.
* ``fresh``: each implementation in its own new process, as a user meets it: ``first`` is the first
  full-size run (deraining one photo: first call included, model already built), ``steady`` the median
  of the ``--runs`` runs after it (training for days). Processes alternate reference, optimised, ...
  ``--repeats`` times; the table gives the median over repeats.

``--clock cpu`` times with the process's CPU time (user + system, page faults included) instead of the
wall clock: with one thread on a shared machine it leaves out the time the process waited for a core
(it still includes what sharing the caches and memory bus costs).

``--official FILE`` adds the release's module (its ``DRSformer_arch.py``, kept outside the repository)
as a third implementation with the same weights (converted by the plugin's converter), so that the
reference formulation's speed can be checked against the code it reproduces.

    python benchmarks/drsformer_speed.py            # full-size model, both modes (an hour or more on 2 CPU cores)
    python benchmarks/drsformer_speed.py --small    # a small model and sizes, a few minutes
"""
import argparse
import copy
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from projects.drsformer.drsformer import DRSformer  # noqa: E402
from restorelab.models.archs import common  # noqa: E402

CONFIGS = {
    'full': dict(model=dict(), check_size=(64, 64),
                 cases=[('inference 256x256', 'infer', (1, 256, 256)),
                        ('inference 321x481', 'infer', (1, 321, 481)),
                        ('train step 4x128x128', 'train', (4, 128, 128))]),
    'small': dict(model=dict(dim=16, num_blocks=(1, 1, 2, 2), heads=(1, 2, 4, 8)), check_size=(32, 32),
                  cases=[('inference 64x64', 'infer', (1, 64, 64)),
                         ('inference 81x121', 'infer', (1, 81, 121)),
                         ('train step 2x64x64', 'train', (2, 64, 64))]),
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
    names = dict(dim='dim', num_blocks='num_blocks', heads='heads')
    return {names[k]: list(v) if isinstance(v, tuple) else v for k, v in model_cfg.items()}


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


def make_input(kind, shape, multiple=8):
    """Random rainy/clean images for a case; inference inputs reflect-padded to a multiple of 8."""
    gen = torch.Generator().manual_seed(1)
    n, h, w = shape
    x = torch.rand(n, 3, h, w, generator=gen)
    if kind == 'infer':
        x = F.pad(x, (0, -w % multiple, 0, -h % multiple), mode='reflect')
        return x, None
    return x, torch.rand(n, 3, h, w, generator=gen)


def make_runner(model, kind, x, gt, bf16=False):
    """A no-argument callable doing one inference (no_grad, eval) or one training step; returns the output.

    ``bf16`` runs the forward under CPU bfloat16 autocast (what ``test_cfg.bf16`` and ``--amp`` do)."""
    def forward():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            return model(x).float()

    if kind == 'infer':
        model.eval()

        def run():
            with torch.no_grad():
                return forward()
        return run
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)

    def run():
        optimizer.zero_grad(set_to_none=True)
        out = forward()
        (out - gt).abs().mean().backward()
        optimizer.step()
        return out.detach()
    return run


def switch_runners(args, net, kind, x, gt):
    """Runners of the optimised model with the optional switches asked for (``--bf16``, ``--compile``),
    each on its own copy of the weights; compilation happens here, outside the timed runs."""
    runners = {}
    if args.blas_pointwise:
        run = make_runner(copy.deepcopy(net), kind, x, gt)

        def blas_pointwise_run():
            with common.onednn_pointwise(False):
                return run()
        runners['optimised, 1x1 convs by F.conv2d'] = blas_pointwise_run
    if args.bf16:
        runners['optimised + bf16'] = make_runner(copy.deepcopy(net), kind, x, gt, bf16=True)
    if args.compile and kind == 'infer':
        compiled = torch.compile(copy.deepcopy(net).eval())
        run = make_runner(compiled, kind, x, gt)
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


def psnr(a, b):
    mse = (a.double() - b.double()).pow(2).mean().item()
    return float('inf') if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()


def rss_mb(field):
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def probe_memory(size, case_index, impl, official=None):
    """(Child process) peak resident-set growth in MB during one run of one implementation on one case."""
    cfg = CONFIGS[size]
    _, kind, shape = cfg['cases'][case_index]
    if impl == 'optimised-blas-pointwise':  # --blas-pointwise's variant
        common.set_onednn_pointwise(False)
        impl = 'optimised'
    model = build(cfg['model'], official)[impl]
    x, gt = make_input(kind, shape)
    run = make_runner(model, kind, x, gt)
    Path('/proc/self/clear_refs').write_text('5')  # reset the peak (VmHWM) to the current RSS
    before = rss_mb('VmRSS')
    run()
    print(json.dumps(dict(peak_mb=rss_mb('VmHWM') - before)))


CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)
clock = CLOCKS['wall']


def probe_time(size, case_index, impl, runs, official=None):
    """(Child process) the times of ``1 + runs`` runs of one implementation on one case, in a new process."""
    cfg = CONFIGS[size]
    _, kind, shape = cfg['cases'][case_index]
    model = build(cfg['model'], official)[impl]
    x, gt = make_input(kind, shape)
    run = make_runner(model, kind, x, gt)
    times = []
    for _ in range(1 + runs):
        start = clock()
        run()
        times.append(clock() - start)
    print(json.dumps(dict(times=times)))


def child(args, flag, case_index, impl):
    """Run this script in a new process for one case and implementation; its last line of JSON."""
    cmd = [sys.executable, __file__, '--threads', str(args.threads), flag, str(case_index), impl,
           '--runs', str(args.runs), '--clock', args.clock]
    if args.train_batch is not None:
        cmd += ['--train-batch', str(args.train_batch)]
    if args.small:
        cmd.append('--small')
    if args.reuse_freed_memory:
        cmd.append('--reuse-freed-memory')
    if args.official:
        cmd += ['--official', args.official]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f'{" ".join(cmd)} failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_memory(args, case_index, impl):
    return child(args, '--probe-memory', case_index, impl)['peak_mb']


def fresh_process_rows(args, cfg, indices, impls):
    """Per case: for each implementation, the medians over ``--repeats`` new processes of the first run's
    time and of the steady-state median (runs after the first)."""
    rows = []
    for index in indices:
        name = cfg['cases'][index][0]
        first, steady = {i: [] for i in impls}, {i: [] for i in impls}
        for _ in range(args.repeats):
            for impl in impls:
                times = child(args, '--probe-time', index, impl)['times']
                first[impl].append(times[0])
                steady[impl].append(statistics.median(times[1:]))
        print(f'# fresh processes, {name}: ' + ', '.join(
            f'{impl} first {[round(t, 2) for t in first[impl]]} s, steady {[round(t, 2) for t in steady[impl]]} s'
            for impl in impls) + f', load {os.getloadavg()[0]:.2f}', flush=True)
        rows.append((name, {i: statistics.median(first[i]) for i in impls},
                     {i: statistics.median(steady[i]) for i in impls}))
    return rows


def print_fresh_table(rows, impls):
    baselines = [i for i in ('official', 'reference') if i in impls]
    print('\nEach implementation in its own new process (medians over repeats): first run / steady state (s)\n')
    head = ' | '.join(f'{i} first | {i} steady' for i in impls)
    ratios = ' | '.join(f'first {b}/optimised | steady {b}/optimised' for b in baselines)
    print(f'| case | {head} | {ratios} |')
    print('|---|' + '---|' * (2 * len(impls) + 2 * len(baselines)))
    for name, first, steady in rows:
        cells = ' | '.join(f'{first[i]:.2f} | {steady[i]:.2f}' for i in impls)
        ratio = ' | '.join(f'{first[b] / first["optimised"]:.2f}x | {steady[b] / steady["optimised"]:.2f}x'
                           for b in baselines)
        print(f'| {name} | {cells} | {ratio} |')


def float64_check(model_cfg, size):
    """Max abs difference of the two formulations in float64 on one random image of ``size``."""
    models = build(model_cfg)
    ref, net = models['reference'].double().eval(), models['optimised'].double().eval()
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        return (ref(x) - net(x)).abs().max().item()


def main():
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
    parser.add_argument('--clock', choices=tuple(CLOCKS), default='wall',
                        help='wall: elapsed time (default); cpu: the process\'s CPU time, which leaves out '
                        'waiting for a core on a shared machine (meaningful with --threads 1)')
    parser.add_argument('--probe-memory', nargs=2, metavar=('CASE', 'IMPL'), help=argparse.SUPPRESS)
    parser.add_argument('--probe-time', nargs=2, metavar=('CASE', 'IMPL'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error(f'--runs and --repeats must be >= 1 and --warmup >= 0 '
                     f'(got {args.runs}, {args.repeats}, {args.warmup})')
    official = load_official(args.official) if args.official else None
    global clock
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    if args.reuse_freed_memory:
        reuse_freed_memory()
    size = 'small' if args.small else 'full'
    if args.train_batch is not None:
        if args.train_batch < 1:
            parser.error(f'--train-batch must be >= 1 (got {args.train_batch})')
        name, kind, (_, h, w) = CONFIGS[size]['cases'][-1]
        CONFIGS[size]['cases'][-1] = (f'train step {args.train_batch}x{h}x{w}', kind, (args.train_batch, h, w))
    if args.probe_memory:
        probe_memory(size, int(args.probe_memory[0]), args.probe_memory[1], official)
        return
    if args.probe_time:
        probe_time(size, int(args.probe_time[0]), args.probe_time[1], args.runs, official)
        return
    cfg = CONFIGS[size]
    indices = range(len(cfg['cases'])) if args.cases is None else [int(i) for i in args.cases.split(',')]
    impls = ['reference', 'optimised'] if not args.optimised_only else ['optimised']
    if official is not None:
        impls.insert(0, 'official')

    print(f'# torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, {args.clock} clock, '
          f'load average at start {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}')
    print(f'# model: DRSformer({cfg["model"] or "release defaults"}), runs {args.runs} after {args.warmup} warm-up, '
          + f'implementations {", ".join(impls)}, mode {args.mode}'
          + (f', {args.repeats} new processes each' if args.mode != 'interleaved' else ''))
    diff64 = float64_check(cfg['model'], cfg['check_size'])
    print(f'# float64 max abs difference at {cfg["check_size"][0]}x{cfg["check_size"][1]}: {diff64:.2e}', flush=True)

    rows, switch_rows = [], []
    for index in indices if args.mode != 'fresh' else ():
        name, kind, shape = cfg['cases'][index]
        # Peak memory first, in child processes, while this process holds no activations: after the
        # timed runs its heap keeps freed blocks, and with a child's training step both exceeded 24 GB.
        mem = [None if args.no_memory or (impl == 'reference' and args.optimised_only)
               else measure_memory(args, index, impl) for impl in ('reference', 'optimised')]
        models = build(cfg['model'], official)
        x, gt = make_input(kind, shape)
        extra = switch_runners(args, models['optimised'], kind, x, gt)
        runners = {impl: make_runner(models[impl], kind, x, gt) for impl in impls}
        runners.update(extra)
        del models
        times = {k: [] for k in runners}
        outputs = {}
        for r in range(args.warmup + args.runs):
            for impl, run in runners.items():
                start = clock()
                out = run()
                elapsed = clock() - start
                if r == 0:
                    outputs[impl] = out  # same weights at the first call (training updates them afterwards)
                if r >= args.warmup:
                    times[impl].append(elapsed)
        t_opt = statistics.median(times['optimised'])
        t_ref = diff = db = None
        if not args.optimised_only:
            t_ref = statistics.median(times['reference'])
            diff = (outputs['reference'] - outputs['optimised']).abs().max().item()
            db = psnr(outputs['reference'], outputs['optimised'])
        for impl in extra if t_ref is not None else ():
            t = statistics.median(times[impl])
            switch_rows.append((name, impl, t, t_ref / t, (outputs['reference'] - outputs[impl]).abs().max().item(),
                                psnr(outputs['reference'], outputs[impl])))
        official_row = None
        if 'official' in times:
            official_row = (statistics.median(times['official']),
                            (outputs['official'] - outputs['optimised']).abs().max().item(),
                            psnr(outputs['official'], outputs['optimised']))
        del runners, outputs, extra
        rows.append((name, t_ref, t_opt, diff, db, *mem, official_row))
        print(f'# {name}: ' + ', '.join(f'{impl} {[round(t, 2) for t in ts]} s' for impl, ts in times.items())
              + f', load {os.getloadavg()[0]:.2f}', flush=True)

    if rows:
        print('\nInterleaved in one process (medians)\n')
        print('| case | reference s | optimised s | ratio | max abs diff (fp32) | PSNR dB (fp32) '
              '| peak MB reference | peak MB optimised |')
        print('|---|---|---|---|---|---|---|---|')
    for name, t_ref, t_opt, diff, db, m_ref, m_opt, _ in rows:
        mem = ' | '.join('-' if m is None else f'{m:.0f}' for m in (m_ref, m_opt))
        if t_ref is None:
            print(f'| {name} | - | {t_opt:.2f} | - | - | - | {mem} |')
        else:
            print(f'| {name} | {t_ref:.2f} | {t_opt:.2f} | {t_ref / t_opt:.2f}x | {diff:.1e} | {db:.1f} | {mem} |')
    official_rows = [(row[0], row[2], row[-1]) for row in rows if row[-1] is not None]
    if official_rows:
        print('\nThe release\'s module, same weights, interleaved in the same process\n')
        print('| case | official s | optimised s | ratio | max abs diff (fp32) | PSNR dB (fp32) |')
        print('|---|---|---|---|---|---|')
        for name, t_opt, (t_off, diff, db) in official_rows:
            print(f'| {name} | {t_off:.2f} | {t_opt:.2f} | {t_off / t_opt:.2f}x | {diff:.1e} | {db:.1f} |')
    if args.mode != 'interleaved':
        print_fresh_table(fresh_process_rows(args, cfg, indices, impls), impls)
    if switch_rows:
        print('\nOptional switches (off by default), against the same reference run:\n')
        print('| case | variant | time s | ratio to reference | max abs diff | PSNR dB vs reference |')
        print('|---|---|---|---|---|---|')
        for name, impl, t, ratio, diff, db in switch_rows:
            print(f'| {name} | {impl} | {t:.2f} | {ratio:.2f}x | {diff:.1e} | {db:.1f} |')
    print(f'\nload average at end {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}')


if __name__ == '__main__':
    main()
