"""NeRD-Rain's fast path (one MLP evaluation for the INR's four identical local-ensemble terms)
against the release's formulation (four): multiply-accumulates at 256x256 and inference time.

    python benchmarks/nerd_rain_speed.py [--size 128] [--runs 4] [--threads 1] [--record nerd_rain-speed]
        [--dry-run] [--results-dir DIR]

For NeRD-Rain and NeRD-Rain-S: parameters, MACs of each formulation at 256x256 (restorelab's
count_flops), and the inference time of each at ``--size`` (the two interleaved in one process,
the same weights; first run and the steady state, the median of the others), with the largest
difference between their outputs. The committed record is benchmarks/results/nerd_rain-speed.json
(``--record nerd_rain-speed``). ``--dry-run``: one tiny NeRDRain at 32x32, two runs, MACs at 32x32.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import add_record_options, begin, finish, summary, timed  # noqa: E402

import projects.nerd_rain.nerd_rain  # noqa: E402,F401 (registers NeRDRain)
from projects.nerd_rain.nerd_rain import NeRDRain  # noqa: E402
from restorelab.benchmark.cost import count_flops  # noqa: E402
from restorelab.models.archs.common import count_parameters  # noqa: E402

VARIANTS = {'NeRD-Rain': 48, 'NeRD-Rain-S': 32}
DRY_RUN = dict(num_blocks=(1, 1, 1), heads=(1, 1, 2), inr_hidden=(16, 16))  # with dim 8


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=128, help='square input side for the timing')
    parser.add_argument('--runs', type=int, default=4, help='timed runs of each formulation')
    parser.add_argument('--threads', type=int, default=1)
    add_record_options(parser)
    args = parser.parse_args(argv)
    begun = begin()
    torch.set_num_threads(args.threads)
    size, runs, cost = (32, 2, 32) if args.dry_run else (args.size, args.runs, 256)
    results = dict(size=size, runs=runs, threads=args.threads, variants={})
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    # The dry run: one tiny variant (the two differ only in width).
    for name, dim in list(VARIANTS.items())[:1 if args.dry_run else None]:
        arch = dict(dim=8, **DRY_RUN) if args.dry_run else dict(dim=dim)
        torch.manual_seed(0)
        fast = NeRDRain(**arch, fast=True).eval()
        plain = NeRDRain(**arch, fast=False).eval()
        plain.load_state_dict(fast.state_dict())
        row = dict(params=count_parameters(fast), macs_shape=[3, cost, cost],
                   macs_release=count_flops(plain, (3, cost, cost)), macs_fast=count_flops(fast, (3, cost, cost)))
        times = {'release': [], 'fast': []}
        outputs = {}
        with torch.no_grad():
            for _ in range(runs):
                for key, net in (('release', plain), ('fast', fast)):
                    seconds, outputs[key] = timed(lambda: net(x))
                    times[key].append(seconds)
        row.update({f'seconds_{k}': summary(v) for k, v in times.items()})
        row['max_abs_difference'] = float((outputs['release'] - outputs['fast']).abs().max())
        row['speedup_steady'] = row['seconds_release']['steady'] / row['seconds_fast']['steady']
        results['variants'][name] = row
        print(f"{name}: {row['params']} parameters; MACs at {cost}x{cost} {row['macs_release'] / 1e9:.3f} G "
              f"(release), {row['macs_fast'] / 1e9:.3f} G (fast); {size}x{size} inference "
              f"steady {row['seconds_release']['steady']:.3f} s (release) vs {row['seconds_fast']['steady']:.3f} s "
              f"(fast), x{row['speedup_steady']:.2f}; max abs difference {row['max_abs_difference']:.3g}")
    finish(args, 'nerd_rain_speed', results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
