#!/usr/bin/env python
"""What one core of this machine can do for DRSformer's and Restormer's operations (docs/performance.md):
the ceilings that the speed goals are measured against. A benchmark, not a test; 1 thread, medians of
7 calls after one untimed call.

* matrix products: MKL (``a @ b``) against oneDNN (the same product as a 1x1 conv on a channels-last
  image, what ``pointwise_conv2d`` calls), in GFLOP/s, for a large square product and the fast paths'
  shapes (pixels x in-channels x out-channels);
* depth-wise convs at the level-1 sizes (256x256) and at a size that fits in the caches, channels-last
  and NCHW, in GFLOP/s and GB/s (input read plus output written once);
* two oneDNN fusions the fast paths do not use, against the separate operations: a ReLU after a
  depth-wise conv (``mkldnn._convolution_pointwise`` with attr 'relu'), and a 1x1 conv accumulated onto
  a tensor (``mkldnn._convolution_pointwise_.binary``, 'add' into it) against MKL's ``addmm_``.

    python benchmarks/cpu_roofline.py
"""
import os
import statistics
import time

import torch
import torch.nn.functional as F

PRODUCTS = ((2048, 2048, 2048), (65536, 96, 96), (65536, 127, 96), (65536, 96, 85), (65536, 85, 96),
            (16384, 192, 510))
DEPTHWISE = ((48, 3, 256), (85, 3, 256), (85, 5, 256), (96, 3, 256), (255, 3, 256), (256, 3, 64))
ACCUMULATE = ((85, 96, 256), (48, 48, 256), (96, 96, 256))


def median_ms(f, reps=7):
    f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def channels_last(t):
    return t.contiguous(memory_format=torch.channels_last)


def onednn_conv(x, w):
    return torch.ops.aten.mkldnn_convolution(x, w, None, (0, 0), (1, 1), (1, 1), 1)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f'# torch {torch.__version__}, 1 thread, load average at start '
          + ' '.join(f'{v:.2f}' for v in os.getloadavg()))
    print('\n| product (rows x inner x cols) | MKL mm GFLOP/s | oneDNN 1x1 conv GFLOP/s |\n|---|---|---|')
    with torch.no_grad():
        for m, k, n in PRODUCTS:
            a, b = torch.randn(m, k), torch.randn(k, n)
            width = 256 if m % 256 == 0 else 1
            x = channels_last(a.t().contiguous().reshape(1, k, m // width, width))
            w = b.t().contiguous().reshape(n, k, 1, 1)
            flop = 2 * m * k * n
            t_mkl, t_dnn = median_ms(lambda: a @ b), median_ms(lambda: onednn_conv(x, w))
            print(f'| {m} x {k} x {n} | {flop / t_mkl / 1e6:.1f} | {flop / t_dnn / 1e6:.1f} |', flush=True)

        print('\n| depth-wise conv (channels, kernel, HxW) | channels-last ms | GFLOP/s | GB/s | NCHW ms |'
              '\n|---|---|---|---|---|')
        for c, k, hw in DEPTHWISE:
            x, w = channels_last(torch.randn(1, c, hw, hw)), torch.randn(c, 1, k, k)
            xn = x.contiguous()
            t_cl = median_ms(lambda: F.conv2d(x, w, padding=k // 2, groups=c))
            t_n = median_ms(lambda: F.conv2d(xn, w, padding=k // 2, groups=c))
            flop, gbytes = 2 * c * hw * hw * k * k, 2 * c * hw * hw * 4 / 1e9
            print(f'| {c}, {k}x{k}, {hw}x{hw} | {t_cl:.1f} | {flop / t_cl / 1e6:.1f} | {gbytes / t_cl * 1e3:.1f} '
                  f'| {t_n:.1f} |', flush=True)

        print('\n| fusion | separate ms | fused ms | max abs difference |\n|---|---|---|---|')
        for c, k, hw in ((255, 3, 256), (85, 3, 256), (85, 5, 256)):
            x, w = channels_last(torch.randn(1, c, hw, hw)), torch.randn(c, 1, k, k)

            def separate():
                return F.relu_(F.conv2d(x, w, padding=k // 2, groups=c))

            def fused():
                return torch.ops.mkldnn._convolution_pointwise(x, w, None, [k // 2] * 2, [1, 1], [1, 1], c,
                                                               'relu', [], None)
            diff = (separate() - fused()).abs().max().item()
            print(f'| depth-wise {k}x{k} + ReLU, {c} channels, {hw}x{hw} | {median_ms(separate):.1f} '
                  f'| {median_ms(fused):.1f} | {diff:.1e} |', flush=True)
        for cin, cout, hw in ACCUMULATE:
            x, w = channels_last(torch.randn(1, cin, hw, hw)), torch.randn(cout, cin, 1, 1)
            residual = channels_last(torch.randn(1, cout, hw, hw))
            rows, weight = x.permute(0, 2, 3, 1).reshape(-1, cin), w.reshape(cout, cin).t()
            flat = residual.permute(0, 2, 3, 1).reshape(-1, cout)

            def mkl():
                return flat.clone().addmm_(rows, weight)

            def onednn():
                return torch.ops.mkldnn._convolution_pointwise_.binary(
                    residual.clone(), x, w, None, [0, 0], [1, 1], [1, 1], 1, 'add', None, None, [], None)
            diff = (mkl() - onednn().permute(0, 2, 3, 1).reshape(-1, cout)).abs().max().item()
            print(f'| 1x1 conv {cin}->{cout} accumulated onto a copy, {hw}x{hw}: MKL addmm_ / oneDNN add post-op '
                  f'| {median_ms(mkl):.1f} | {median_ms(onednn):.1f} | {diff:.1e} |', flush=True)


if __name__ == '__main__':
    main()
