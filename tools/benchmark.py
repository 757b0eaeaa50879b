"""Benchmark several restorers on several test sets under one protocol.

    python tools/benchmark.py BENCH_CONFIG [--out DIR] [--device cpu|cuda]
        [--models a,b] [--datasets x,y] [--limit N] [--quantize round|truncate] [--resume]
        [--save-images [--sheet-images N]] [--no-cost] [--no-progress]

BENCH_CONFIG lists models, datasets, one inference protocol and the cost
measurement (see restorelab/benchmark/config.py and configs/benchmarks/). DIR
(default work_dirs/benchmarks/<config name>) receives results.json,
results.csv, table.md, psnr_vs_latency.png and, with --save-images, images/ and one
contact sheet per set (contact_sheets/<set>.png: rainy input, every model and the
ground truth side by side for the first --sheet-images images).
A (model, dataset) cell that fails is recorded with its reason; the run goes on.
"""
import argparse
import os
import sys

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
                        'full run; table.md says so)')
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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    from restorelab.benchmark import run_benchmark

    out = args.out or os.path.join(
        'work_dirs', 'benchmarks', os.path.splitext(os.path.basename(args.config))[0])
    try:
        results = run_benchmark(args.config, out, device=args.device, models=args.models,
                                datasets=args.datasets, resume=args.resume,
                                save_images=args.save_images, progress=not args.no_progress,
                                measure_costs=not args.no_cost, limit=args.limit,
                                quantize=args.quantize, sheet_images=args.sheet_images)
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    cells = results['cells'].values()
    failed = [c for c in cells if c['status'] == 'failed']
    sheets = ', contact_sheets/' if results.get('contact_sheets') else ''
    print(f'wrote {out}/table.md, results.json, results.csv, psnr_vs_latency.png{sheets} '
          f'({len(cells)} cells, {len(failed)} failed)')
    with open(os.path.join(out, 'table.md')) as f:
        print(f.read())
    return 0


if __name__ == '__main__':
    sys.exit(main())
