#!/usr/bin/env python
"""Single-operator timings behind two choices of Restormer's fast path (docs/performance.md). A
benchmark, not a test; 1 thread, the operators of a row alternating, median of 5 calls after one
(the harness's ``interleaved``); the figures go to the record
``benchmarks/results/restormer_ops_speed.json``.

* forward of a 1x1 conv on channels-last input: PyTorch's choice at one thread (im2col + GEMM),
  oneDNN's convolution (``torch.ops.aten.mkldnn_convolution``, what ``pointwise_conv`` calls), and a
  matrix product of the pixel rows (MKL), in GFLOP/s;
* backward of a 1x1 conv: PyTorch's ``convolution_backward`` against the input gradient as a oneDNN
  1x1 conv of grad_out with the transposed weight, and the weight gradient as a matrix product, in ms;
* forward and backward of a 1x1 conv with a bias, channels-last: the oneDNN forward with PyTorch's
  backward (what ``pointwise_conv2d`` did before its autograd function) against ``pointwise_conv2d``
  (oneDNN for the input gradient, one matrix product for the weight's), in ms.

    python benchmarks/restormer_ops_speed.py
    python benchmarks/restormer_ops_speed.py --dry-run    # tiny shapes, one call each: seconds
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from restorelab.models.archs.common import pointwise_conv2d  # noqa: E402

SCRIPT = 'restormer_ops_speed'
SHAPES = {
    # (cin, cout, pixels) and (batch, cin, cout, height, width): Restormer's and DRSformer's 1x1 convs
    'full': dict(forward=((96, 85, 65536), (96, 288, 65536), (85, 96, 65536), (48, 127, 65536), (192, 510, 16384)),
                 backward=((96, 510, 16384), (96, 96, 16384), (255, 96, 16384), (48, 254, 16384)),
                 both=((1, 96, 510, 128, 128), (1, 96, 96, 128, 128), (1, 255, 96, 128, 128),
                       (1, 48, 254, 128, 128), (2, 96, 96, 128, 128), (1, 48, 144, 256, 256)), runs=5),
    'dry-run': dict(forward=((16, 8, 256),), backward=((16, 8, 256),), both=((1, 16, 8, 16, 16),), runs=1),
}


def cl(c, pixels, width):
    width = min(width, pixels)
    return torch.rand(1, c, pixels // width, width).contiguous(memory_format=torch.channels_last)


def median_times(calls, runs):
    """``{name: steady-state seconds}`` of the calls, alternating (median of ``runs`` after one)."""
    figures, _ = harness.interleaved(calls, runs, warmup=1)
    return {name: f['steady'] for name, f in figures.items()}


def measure(shapes):
    runs = shapes['runs']
    conv = torch.ops.aten.mkldnn_convolution
    results = dict(forward=[], backward=[], both=[])
    with torch.no_grad():
        for cin, cout, px in shapes['forward']:
            x, w = cl(cin, px, 256), torch.randn(cout, cin, 1, 1)
            rows, mat = x.permute(0, 2, 3, 1).reshape(px, cin), w.reshape(cout, cin).t()
            t = median_times({'conv2d': lambda: F.conv2d(x, w),
                              'onednn': lambda: conv(x, w, None, [0, 0], [1, 1], [1, 1], 1),
                              'mm': lambda: rows @ mat}, runs)
            row = dict(cin=cin, cout=cout, pixels=px, gflops={k: 2 * px * cin * cout / v / 1e9 for k, v in t.items()})
            results['forward'].append(row)
            print(f'# forward {cin}->{cout}, {px}: ' + ', '.join(f'{k} {v:.1f}' for k, v in row['gflops'].items())
                  + ' GFLOP/s', flush=True)
        for cin, cout, px in shapes['backward']:
            x, w, g = cl(cin, px, 128), torch.randn(cout, cin, 1, 1), cl(cout, px, 128)
            rows, grows = x.permute(0, 2, 3, 1).reshape(px, cin), g.permute(0, 2, 3, 1).reshape(px, cout)
            wt = w.reshape(cout, cin).t().contiguous().reshape(cin, cout, 1, 1)

            def backward(mask):
                return torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask)
            t = median_times({'both': lambda: backward([True, True, False]),
                              'gi': lambda: backward([True, False, False]),
                              'gi_onednn': lambda: conv(g, wt, None, [0, 0], [1, 1], [1, 1], 1),
                              'gw': lambda: backward([False, True, False]), 'gw_mm': lambda: grows.t() @ rows}, runs)
            ms = {k: 1000 * v for k, v in t.items()}
            results['backward'].append(dict(cin=cin, cout=cout, pixels=px, ms=ms))
            print(f'# backward {cin}->{cout}, {px}: ' + ', '.join(f'{k} {v:.1f}' for k, v in ms.items()) + ' ms',
                  flush=True)
    for n, cin, cout, h, w in shapes['both']:
        x = torch.randn(n, cin, h, w).contiguous(memory_format=torch.channels_last).requires_grad_()
        weight, bias = torch.randn(cout, cin, 1, 1, requires_grad=True), torch.randn(cout, requires_grad=True)
        g = torch.randn(n, cout, h, w).contiguous(memory_format=torch.channels_last)
        grads = {}

        def step(name, f):
            x.grad = weight.grad = bias.grad = None
            f(x, weight, bias).backward(g)
            grads[name] = (x.grad, weight.grad, bias.grad)
        t = median_times({'before': lambda: step('before', lambda *a: conv(*a, [0, 0], [1, 1], [1, 1], 1)),
                          'now': lambda: step('now', pointwise_conv2d)}, runs)
        diff = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(grads['now'], grads['before']))
        row = dict(batch=n, cin=cin, cout=cout, height=h, width=w, before_ms=1000 * t['before'],
                   now_ms=1000 * t['now'], max_relative_diff=diff)
        results['both'].append(row)
        print(f'# forward + backward {n}x{cin}->{cout}, {h}x{w}: before {row["before_ms"]:.1f} ms, '
              f'pointwise_conv2d {row["now_ms"]:.1f} ms', flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    harness.add_record_options(parser, 'tiny shapes, one call each: seconds (a check of the script)')
    args = parser.parse_args(argv)
    begun = harness.begin()
    harness.set_threads(1)
    shapes = SHAPES['dry-run' if args.dry_run else 'full']
    results = dict(threads=1, runs=shapes['runs'], **measure(shapes))
    print('\n' + '\n'.join(tables.ops(results)))
    harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
