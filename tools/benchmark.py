"""Benchmark several restorers on several test sets, each cell run by mmengine's test loop.

    python tools/benchmark.py BENCH_CONFIG [--out DIR] [--device cpu|cuda]
        [--models a,b] [--datasets x,y] [--limit N] [--quantize round|truncate] [--resume]
        [--save-images [--sheet-images N]] [--no-cost] [--no-progress] [--watchdog-timeout S]
        [--check [--print-out-dir]]
    tools/dist_benchmark.sh BENCH_CONFIG N [the same options]     (N processes, torchrun)

BENCH_CONFIG lists model references and dataset configs (see restorelab/benchmark/config.py,
docs/benchmarking.md and configs/benchmarks/). DIR (default work_dirs/benchmarks/<config
name>) receives results.json, results.csv, table.md, psnr_vs_latency.png and, with
--save-images, images/ and one contact sheet per set (contact_sheets/<set>.png: rainy input,
every model and the ground truth side by side for the first --sheet-images images).
A (model, dataset) cell that fails is recorded with its reason and the run goes on.
Exit status: 0; 1 when every model failed on some set (the reason is printed once) or the
watchdog ended a run that made no progress for --watchdog-timeout seconds (its paragraph says
where); 2 for a bad config or option (nothing runs); 128 + N when stopped by SIGINT/SIGTERM
(the finished cells are kept: --resume runs the others).
"""
import argparse
import json
import os
import sys

from restorelab.engine.elastic import STATUS_FILE_ENV
from restorelab.utils.errors import UserInputError, user_error_message
from restorelab.engine import setup_engine


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark restorers under one protocol')
    parser.add_argument('config', help='benchmark config, e.g. configs/benchmarks/paper_table1.py')
    parser.add_argument('--out', help='output folder (default: work_dirs/benchmarks/<config name>)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--models', help='comma-separated model names to run (default: all)')
    parser.add_argument('--datasets', help='comma-separated dataset names to run (default: all)')
    parser.add_argument('--limit', type=int, metavar='N',
                        help='score only the first N images of each set (a quick look before a '
                        'full run; table.md and the plot say so, and the latency is one run '
                        'without warm-up)')
    parser.add_argument('--quantize', choices=('round', 'truncate'),
                        help="how predictions become 8 bits before scoring (overrides the "
                        "config's inference.quantize; default round). truncate = np.uint8(255 * "
                        "out), as the PReNet/BRN/AIDNet test scripts save")
    parser.add_argument('--resume', action='store_true',
                        help='skip the cells already finished in DIR/results.json')
    parser.add_argument('--save-images', action='store_true',
                        help='write the restored 8-bit images to DIR/images/<model>/<dataset>/ '
                        'and a contact sheet per set to DIR/contact_sheets/')
    parser.add_argument('--sheet-images', type=int, default=4, metavar='N',
                        help='rows (images) per contact sheet (default 4)')
    parser.add_argument('--no-cost', action='store_true',
                        help='skip the cost measurement (parameters, FLOPs, latency, memory)')
    parser.add_argument('--no-progress', action='store_true', help='no progress line')
    parser.add_argument('--check', action='store_true',
                        help='check the config and the selection, run nothing (what '
                        'tools/dist_benchmark.sh does before it starts the processes)')
    parser.add_argument('--print-out-dir', action='store_true',
                        help='with --check: print the output folder last (tools/dist_benchmark.sh '
                        "puts torchrun's log there)")
    parser.add_argument('--watchdog-timeout', type=float, metavar='SECONDS',
                        help='end the run when no process made progress for this long (default '
                        '600 s; 0: no watchdog; docs/reliability.md)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='set by tools/dist_benchmark.sh / tools/slurm_benchmark.sh')
    return parser.parse_args(argv)


def failed_sets(results):
    """``{set: [reasons]}`` of the sets on which every model run failed."""
    by_set = {}
    for cell in results['cells'].values():
        by_set.setdefault(cell['dataset'], []).append(cell)
    return {name: list(dict.fromkeys(c['reason'] for c in cells))
            for name, cells in by_set.items() if all(c['status'] == 'failed' for c in cells)}


def main(argv=None):
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    from restorelab.engine import watchdog
    from restorelab.engine.elastic import SignalStop, exit_status_after_stop, stop_on_signals

    out = args.out or os.path.join(
        'work_dirs', 'benchmarks', os.path.splitext(os.path.basename(args.config))[0])
    resume_hint = (f'The cells finished before are in {os.path.join(out, "results.json")}: run '
                   'the same command with --resume to run the others.')
    try:
        timeout = watchdog.check_timeout(args.watchdog_timeout, '--watchdog-timeout')
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.check:
        return _run(args, out)
    dog = None
    try:
        with stop_on_signals(), watchdog.watching(timeout=timeout, fallback=True) as dog:
            dog.configure(work_dir=out, next_step=resume_hint)
            return _run(args, out, dog)
    except SignalStop as stop:
        if dog is not None and dog.ends_in_stall():  # the watchdog's paragraph says it all
            return watchdog.STALL_EXIT_STATUS
        if os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) == '0':
            print(f'benchmark stopped by {stop.signame}. {resume_hint}', file=sys.stderr,
                  flush=True)
        return exit_status_after_stop(stop.signame)


def _run(args, out, dog=None):
    from restorelab.benchmark import check_bench_config, run_benchmark, select
    from restorelab.engine import launch

    # A restarted group (torchrun's MAX_RESTARTS, a Slurm requeue) continues where it stopped.
    resume = args.resume or (launch.restart_count() > 0
                             and os.path.isfile(os.path.join(out, 'results.json')))
    try:
        if args.check:
            cfg = check_bench_config(args.config)
            select(cfg['models'], args.models, 'models')
            select(cfg['datasets'], args.datasets, 'datasets')
            print(f'{args.config}: {len(cfg["models"])} models x {len(cfg["datasets"])} sets, '
                  'config checked')
            if args.print_out_dir:
                print(out)
            return 0
        results = run_benchmark(args.config, out, device=args.device, models=args.models,
                                datasets=args.datasets, resume=resume,
                                save_images=args.save_images, progress=not args.no_progress,
                                measure_costs=not args.no_cost, limit=args.limit,
                                quantize=args.quantize, sheet_images=args.sheet_images,
                                launcher=args.launcher)
    except UserInputError as err:
        if dog is not None and dog.ends_in_stall():  # e.g. a collective that lost the stalled process
            from restorelab.engine.watchdog import STALL_EXIT_STATUS
            return STALL_EXIT_STATUS
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    if results is None:  # not the first of several processes: it writes the outputs
        return 0
    cells = results['cells'].values()
    failed = [c for c in cells if c['status'] == 'failed']
    sheets = ', contact_sheets/' if results.get('contact_sheets') else ''
    print(f'wrote {out}/table.md, results.json, results.csv, psnr_vs_latency.png{sheets} '
          f'({len(cells)} cells, {len(failed)} failed)')
    with open(os.path.join(out, 'table.md')) as f:
        print(f.read())
    lost = failed_sets(results)
    for name, reasons in lost.items():
        print(f'error: every model failed on {name}: {"; ".join(reasons)}', file=sys.stderr)
    status_file = os.environ.get(STATUS_FILE_ENV)
    if lost and status_file and args.launcher == 'pytorch':
        # tools/dist_launch.py exits with it: an exit status of 1 would make torchrun restart
        # the processes (MAX_RESTARTS) and report a failure.
        with open(status_file, 'w') as f:
            json.dump(dict(status=1), f)
        return 0
    return 1 if lost else 0


if __name__ == '__main__':
    sys.exit(main())
