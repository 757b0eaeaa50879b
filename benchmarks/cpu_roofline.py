#!/usr/bin/env python
"""What one core of this machine can do for DRSformer's and Restormer's operations (docs/performance.md):
the ceilings that the speed goals are measured against. A benchmark, not a test; 1 thread, medians of
7 calls after one untimed call (the harness's ``repeated``); the figures go to the record
``benchmarks/results/cpu_roofline.json``.

* matrix products: MKL (``a @ b``) against oneDNN (the same product as a 1x1 conv on a channels-last
  image, what ``pointwise_conv2d`` calls), in GFLOP/s, for a large square product and the fast paths'
  shapes (pixels x in-channels x out-channels);
* depth-wise convs at the level-1 sizes (256x256) and at a size that fits in the caches, channels-last
  and NCHW, in GFLOP/s and GB/s (input read plus output written once);
* two oneDNN fusions the fast paths do not use, against the separate operations: a ReLU after a
  depth-wise conv (``mkldnn._convolution_pointwise`` with attr 'relu'), and a 1x1 conv accumulated onto
  a tensor (``mkldnn._convolution_pointwise_.binary``, 'add' into it) against MKL's ``addmm_``.

    python benchmarks/cpu_roofline.py
    python benchmarks/cpu_roofline.py --dry-run    # tiny shapes, one call each: seconds
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SCRIPT = 'cpu_roofline'
SHAPES = {
    'full': dict(products=((2048, 2048, 2048), (65536, 96, 96), (65536, 127, 96), (65536, 96, 85),
                           (65536, 85, 96), (16384, 192, 510)),
                 depthwise=((48, 3, 256), (85, 3, 256), (85, 5, 256), (96, 3, 256), (255, 3, 256), (256, 3, 64)),
                 relu=((255, 3, 256), (85, 3, 256), (85, 5, 256)),
                 accumulate=((85, 96, 256), (48, 48, 256), (96, 96, 256)), runs=7),
    'dry-run': dict(products=((64, 32, 32), (256, 16, 8)), depthwise=((8, 3, 16),), relu=((8, 3, 16),),
                    accumulate=((8, 8, 16),), runs=1),
}


def median_ms(f, runs):
    """The steady-state time of ``f`` in ms: median of ``runs`` calls after one untimed call."""
    return 1000 * harness.repeated(f, runs, warmup=1)[0]['steady']


def channels_last(t):
    return t.contiguous(memory_format=torch.channels_last)


def onednn_conv(x, w):
    return torch.ops.aten.mkldnn_convolution(x, w, None, (0, 0), (1, 1), (1, 1), 1)


def measure(shapes):
    runs = shapes['runs']
    results = dict(products=[], depthwise=[], fusions=[])
    with torch.no_grad():
        for m, k, n in shapes['products']:
            a, b = torch.randn(m, k), torch.randn(k, n)
            width = 256 if m % 256 == 0 else 1
            x = channels_last(a.t().contiguous().reshape(1, k, m // width, width))
            w = b.t().contiguous().reshape(n, k, 1, 1)
            flop = 2 * m * k * n
            t_mkl, t_dnn = median_ms(lambda: a @ b, runs), median_ms(lambda: onednn_conv(x, w), runs)
            row = dict(rows=m, inner=k, cols=n, mkl_gflops=flop / t_mkl / 1e6, onednn_gflops=flop / t_dnn / 1e6)
            results['products'].append(row)
            print(f'# product {m} x {k} x {n}: MKL {row["mkl_gflops"]:.1f}, oneDNN {row["onednn_gflops"]:.1f} GFLOP/s',
                  flush=True)

        for c, k, hw in shapes['depthwise']:
            x, w = channels_last(torch.randn(1, c, hw, hw)), torch.randn(c, 1, k, k)
            xn = x.contiguous()
            t_cl = median_ms(lambda: F.conv2d(x, w, padding=k // 2, groups=c), runs)
            t_n = median_ms(lambda: F.conv2d(xn, w, padding=k // 2, groups=c), runs)
            flop, gbytes = 2 * c * hw * hw * k * k, 2 * c * hw * hw * 4 / 1e9
            row = dict(channels=c, kernel=k, size=hw, channels_last_ms=t_cl, gflops=flop / t_cl / 1e6,
                       gbytes_per_s=gbytes / t_cl * 1e3, nchw_ms=t_n)
            results['depthwise'].append(row)
            print(f'# depth-wise {c}, {k}x{k}, {hw}x{hw}: channels-last {t_cl:.1f} ms, NCHW {t_n:.1f} ms',
                  flush=True)

        for c, k, hw in shapes['relu']:
            x, w = channels_last(torch.randn(1, c, hw, hw)), torch.randn(c, 1, k, k)

            def separate():
                return F.relu_(F.conv2d(x, w, padding=k // 2, groups=c))

            def fused():
                return torch.ops.mkldnn._convolution_pointwise(x, w, None, [k // 2] * 2, [1, 1], [1, 1], c,
                                                               'relu', [], None)
            row = dict(fusion=f'depth-wise {k}x{k} + ReLU, {c} channels, {hw}x{hw}',
                       separate_ms=median_ms(separate, runs), fused_ms=median_ms(fused, runs),
                       max_abs=harness.max_abs_diff(separate(), fused()))
            results['fusions'].append(row)
            print(f'# {row["fusion"]}: separate {row["separate_ms"]:.1f} ms, fused {row["fused_ms"]:.1f} ms', flush=True)
        for cin, cout, hw in shapes['accumulate']:
            x, w = channels_last(torch.randn(1, cin, hw, hw)), torch.randn(cout, cin, 1, 1)
            residual = channels_last(torch.randn(1, cout, hw, hw))
            rows, weight = x.permute(0, 2, 3, 1).reshape(-1, cin), w.reshape(cout, cin).t()
            flat = residual.permute(0, 2, 3, 1).reshape(-1, cout)

            def mkl():
                return flat.clone().addmm_(rows, weight)

            def onednn():
                return torch.ops.mkldnn._convolution_pointwise_.binary(
                    residual.clone(), x, w, None, [0, 0], [1, 1], [1, 1], 1, 'add', None, None, [], None)
            row = dict(fusion=f'1x1 conv {cin}->{cout} accumulated onto a copy, {hw}x{hw}: MKL addmm_ / '
                       'oneDNN add post-op', separate_ms=median_ms(mkl, runs), fused_ms=median_ms(onednn, runs),
                       max_abs=harness.max_abs_diff(mkl(), onednn().permute(0, 2, 3, 1).reshape(-1, cout)))
            results['fusions'].append(row)
            print(f'# {row["fusion"]}: separate {row["separate_ms"]:.1f} ms, fused {row["fused_ms"]:.1f} ms', flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    harness.add_record_options(parser, 'tiny shapes, one call each: seconds (a check of the script)')
    args = parser.parse_args(argv)
    begun = harness.begin()
    harness.set_threads(1)
    torch.manual_seed(0)
    print(f'# torch {torch.__version__}, 1 thread, load average at start {begun["load_average"]}')
    shapes = SHAPES['dry-run' if args.dry_run else 'full']
    results = dict(threads=1, runs=shapes['runs'], **measure(shapes))
    print('\n' + '\n'.join(tables.roofline(results)))
    harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
