#!/usr/bin/env python
"""Single-operator timings behind two choices of Restormer's fast path (docs/performance.md). A
benchmark, not a test; 1 thread, median of 5 calls per operator, alternating.

* forward of a 1x1 conv on channels-last input: PyTorch's choice at one thread (im2col + GEMM),
  oneDNN's convolution (``torch.ops.aten.mkldnn_convolution``, what ``pointwise_conv`` calls), and a
  matrix product of the pixel rows (MKL), in GFLOP/s;
* backward of a 1x1 conv: PyTorch's ``convolution_backward`` against the input gradient as a oneDNN
  1x1 conv of grad_out with the transposed weight, and the weight gradient as a matrix product, in ms;
* forward and backward of a 1x1 conv with a bias, channels-last: the oneDNN forward with PyTorch's
  backward (what ``pointwise_conv2d`` did before its autograd function) against ``pointwise_conv2d``
  (oneDNN for the input gradient, one matrix product for the weight's), in ms.

    python benchmarks/restormer_ops_speed.py
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from restorelab.models.archs.common import pointwise_conv2d  # noqa: E402

FORWARD = ((96, 85, 65536), (96, 288, 65536), (85, 96, 65536), (48, 127, 65536), (192, 510, 16384))
BACKWARD = ((96, 510, 16384), (96, 96, 16384), (255, 96, 16384), (48, 254, 16384))
# (batch, cin, cout, height, width): Restormer's and DRSformer's 1x1 convs in a 128x128 training step
BOTH = ((1, 96, 510, 128, 128), (1, 96, 96, 128, 128), (1, 255, 96, 128, 128), (1, 48, 254, 128, 128),
        (2, 96, 96, 128, 128), (1, 48, 144, 256, 256))


def cl(c, pixels, width):
    return torch.rand(1, c, pixels // width, width).contiguous(memory_format=torch.channels_last)


def median_times(calls, reps=5):
    times = {name: [] for name in calls}
    for _ in range(reps):
        for name, f in calls.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    torch.set_num_threads(1)
    conv = torch.ops.aten.mkldnn_convolution
    print('| 1x1 forward cin->cout, pixels | PyTorch conv2d GFLOP/s | oneDNN GFLOP/s | mm GFLOP/s |\n|---|---|---|---|')
    with torch.no_grad():
        for cin, cout, px in FORWARD:
            x, w = cl(cin, px, 256), torch.randn(cout, cin, 1, 1)
            rows, mat = x.permute(0, 2, 3, 1).reshape(px, cin), w.reshape(cout, cin).t()
            t = median_times({'conv2d': lambda: F.conv2d(x, w), 'onednn': lambda: conv(x, w, None, [0, 0], [1, 1], [1, 1], 1),
                              'mm': lambda: rows @ mat})
            print(f'| {cin}->{cout}, {px} | ' + ' | '.join(f'{2 * px * cin * cout / t[k] / 1e9:.1f}'
                                                          for k in ('conv2d', 'onednn', 'mm')) + ' |', flush=True)
        print('\n| 1x1 backward cin->cout, pixels | convolution_backward (both) ms | input grad: PyTorch / oneDNN ms '
              '| weight grad: PyTorch / mm ms |\n|---|---|---|---|')
        for cin, cout, px in BACKWARD:
            x, w, g = cl(cin, px, 128), torch.randn(cout, cin, 1, 1), cl(cout, px, 128)
            rows, grows = x.permute(0, 2, 3, 1).reshape(px, cin), g.permute(0, 2, 3, 1).reshape(px, cout)
            wt = w.reshape(cout, cin).t().contiguous().reshape(cin, cout, 1, 1)

            def backward(mask):
                return torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask)
            t = median_times({'both': lambda: backward([True, True, False]),
                              'gi': lambda: backward([True, False, False]),
                              'gi_onednn': lambda: conv(g, wt, None, [0, 0], [1, 1], [1, 1], 1),
                              'gw': lambda: backward([False, True, False]), 'gw_mm': lambda: grows.t() @ rows})
            ms = {k: 1000 * v for k, v in t.items()}
            print(f'| {cin}->{cout}, {px} | {ms["both"]:.1f} | {ms["gi"]:.1f} / {ms["gi_onednn"]:.1f} '
                  f'| {ms["gw"]:.1f} / {ms["gw_mm"]:.1f} |', flush=True)
    print('\n| 1x1 forward + backward, batch x cin->cout, HxW | oneDNN forward, PyTorch backward ms '
          '| pointwise_conv2d ms | ratio | max relative difference of the gradients |\n|---|---|---|---|---|')
    for n, cin, cout, h, w in BOTH:
        x = torch.randn(n, cin, h, w).contiguous(memory_format=torch.channels_last).requires_grad_()
        weight, bias = torch.randn(cout, cin, 1, 1, requires_grad=True), torch.randn(cout, requires_grad=True)
        g = torch.randn(n, cout, h, w).contiguous(memory_format=torch.channels_last)
        grads = {}

        def step(name, f):
            x.grad = weight.grad = bias.grad = None
            f(x, weight, bias).backward(g)
            grads[name] = (x.grad, weight.grad, bias.grad)
        calls = {'before': lambda: step('before', lambda *a: conv(*a, [0, 0], [1, 1], [1, 1], 1)),
                 'now': lambda: step('now', pointwise_conv2d)}
        for f in calls.values():  # once untimed
            f()
        t = median_times(calls)
        diff = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(grads['now'], grads['before']))
        print(f'| {n}x{cin}->{cout}, {h}x{w} | {1000 * t["before"]:.1f} | {1000 * t["now"]:.1f} '
              f'| {t["before"] / t["now"]:.2f} | {diff:.1e} |', flush=True)


if __name__ == '__main__':
    main()
