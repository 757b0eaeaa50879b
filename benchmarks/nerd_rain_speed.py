"""NeRD-Rain's fast path (one MLP evaluation for the INR's four identical local-ensemble terms)
against the release's formulation (four): multiply-accumulates at 256x256 and inference time.

    python benchmarks/nerd_rain_speed.py [--size 128] [--runs 4] [--threads 1] [--out DIR]

For NeRD-Rain and NeRD-Rain-S: parameters, MACs of each formulation at 256x256 (restorelab's
count_flops), and the inference time of each at ``--size`` (the two interleaved in one process,
the same weights; first run and median of the others), with the largest difference between their
outputs. Writes benchmarks/results/nerd_rain-speed.json.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _speed import summary, timed  # noqa: E402
from harness import write_record  # noqa: E402

import projects.nerd_rain.nerd_rain  # noqa: E402,F401 (registers NeRDRain)
from projects.nerd_rain.nerd_rain import NeRDRain  # noqa: E402
from restorelab.benchmark.cost import count_flops  # noqa: E402
from restorelab.models.archs.common import count_parameters  # noqa: E402

VARIANTS = {'NeRD-Rain': 48, 'NeRD-Rain-S': 32}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=128, help='square input side for the timing')
    parser.add_argument('--runs', type=int, default=4, help='timed runs of each formulation')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', type=Path, default=None, help='results folder (default benchmarks/results)')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = dict(size=args.size, runs=args.runs, threads=args.threads, variants={})
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    for name, dim in VARIANTS.items():
        torch.manual_seed(0)
        fast = NeRDRain(dim=dim, fast=True).eval()
        plain = NeRDRain(dim=dim, fast=False).eval()
        plain.load_state_dict(fast.state_dict())
        row = dict(params=count_parameters(fast), macs_256_release=count_flops(plain, (3, 256, 256)),
                   macs_256_fast=count_flops(fast, (3, 256, 256)))
        times = {'release': [], 'fast': []}
        outputs = {}
        with torch.no_grad():
            for _ in range(args.runs):
                for key, net in (('release', plain), ('fast', fast)):
                    seconds, outputs[key] = timed(lambda: net(x))
                    times[key].append(seconds)
        row.update({f'seconds_{k}': summary(v) for k, v in times.items()})
        row['max_abs_difference'] = float((outputs['release'] - outputs['fast']).abs().max())
        row['speedup_median'] = row['seconds_release']['median'] / row['seconds_fast']['median']
        results['variants'][name] = row
        print(f"{name}: {row['params']} parameters; MACs at 256x256 {row['macs_256_release'] / 1e9:.3f} G "
              f"(release), {row['macs_256_fast'] / 1e9:.3f} G (fast); {args.size}x{args.size} inference "
              f"median {row['seconds_release']['median']:.3f} s (release) vs {row['seconds_fast']['median']:.3f} s "
              f"(fast), x{row['speedup_median']:.2f}; max abs difference {row['max_abs_difference']:.3g}")
    print(f"written {write_record('nerd_rain-speed', results, out_dir=args.out)}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
