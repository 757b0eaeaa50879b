#!/usr/bin/env python
"""ONNX Runtime against restorelab's PyTorch path on CPU, one thread (issue 17). A benchmark, not a test.

For each arch at its default (full) size with random weights (seed 0): the arch is exported with
restorelab.deploy.export_onnx (dynamic H, W, traced and verified >= 50 dB against PyTorch at
64x64 or the arch's size multiple, and at a second size) into a temporary
folder, then these implementations restore the same random image, interleaved in one process:

* ``pytorch``: ``ImageRestorer.restore`` as tools/derain.py runs it (DRSformer's and Restormer's fast paths);
* ``pytorch-release``: DRSformer or Restormer built with ``fast=False`` (the release's formulation), same weights;
* ``onnxruntime``: the exported file through ``restorelab.deploy.load_onnx_model`` (the same
  padding and cropping, ``restore_tensor``), ONNX Runtime with ``intra_op_num_threads=1``.

Sizes are 256x256 and 321x481; each is padded as the restorer pads (reflect, to the arch's size
multiple). Times are medians of ``--runs`` runs after one warm-up; torch.set_num_threads(1). With
``--memory``, each implementation also runs alone in a fresh process (``--runs`` runs), giving its
own median and its peak resident memory growth (VmHWM - VmRSS before the first run).

    python benchmarks/onnx_speed.py                         # the five archs, both sizes
    python benchmarks/onnx_speed.py --archs PReNet --sizes 64x64 --runs 3   # a quick look
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

ARCHS = ('DRSformer', 'Restormer', 'Uformer', 'IDT', 'PReNet')
SIZES = ('256x256', '321x481')


# Archs with a fast path beside the release's formulation (``fast=False``).
FAST_PATH_ARCHS = ('DRSformer', 'Restormer')


def build_arch(name, **overrides):
    from mmengine.registry import init_default_scope

    from restorelab.engine.setup import setup_engine
    from restorelab.registry import MODELS
    setup_engine()
    init_default_scope('restorelab')
    if name == 'DRSformer':
        import projects.drsformer.drsformer  # noqa: F401  registers the plugin
    torch.manual_seed(0)
    return MODELS.build(dict(type=name, **overrides)).eval()


def implementations(name, onnx_path):
    """``{label: ImageRestorer}`` of one arch; all share the weights of ``build_arch(name)``."""
    from restorelab.deploy import load_onnx_model
    from restorelab.models.restorers import ImageRestorer

    arch = build_arch(name)
    impls = {'pytorch': ImageRestorer(arch=arch, pixel_loss=None)}
    if name in FAST_PATH_ARCHS:
        release = build_arch(name, fast=False)
        release.load_state_dict(arch.state_dict())
        impls['pytorch-release'] = ImageRestorer(arch=release, pixel_loss=None)
    if onnx_path:
        impls['onnxruntime'] = load_onnx_model(onnx_path, threads=1)
    return {k: v.eval() for k, v in impls.items()}


def image(size):
    h, w = (int(v) for v in size.split('x'))
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))


def time_once(model, x):
    start = time.perf_counter()
    with torch.no_grad():
        model.restore(x)
    return time.perf_counter() - start


def rss_mb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    return float('nan')


def alone(args):
    """``--alone NAME IMPL SIZE ONNX``: one implementation in this (fresh) process; prints JSON."""
    name, impl, size, onnx_path = args.alone
    model = implementations(name, onnx_path if impl == 'onnxruntime' else None)[impl]
    x = image(size)
    before = rss_mb('VmRSS')
    times = [time_once(model, x) for _ in range(args.runs + 1)][1:]
    print(json.dumps(dict(median_s=statistics.median(times), peak_mb=rss_mb('VmHWM') - before)))


def fresh(name, impl, size, onnx_path, runs):
    cmd = [sys.executable, __file__, '--alone', name, impl, size, onnx_path or '-', '--runs', str(runs)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=ARCHS)
    parser.add_argument('--sizes', nargs='+', default=list(SIZES), help='HxW, e.g. 256x256')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--memory', action='store_true',
                        help='also run each implementation alone in a fresh process (peak memory)')
    parser.add_argument('--alone', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.alone:
        return alone(args)
    from restorelab.deploy import export_onnx
    from restorelab.models.restorers.inference_utils import pad_to_multiple

    print(f'torch {torch.__version__}, 1 thread; medians of {args.runs} runs (one warm-up), '
          'implementations interleaved in one process')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.archs:
            path = os.path.join(tmp, f'{name}.onnx')
            start = time.perf_counter()
            arch = build_arch(name)
            side = -(-64 // arch.size_multiple) * arch.size_multiple  # a quick check; H, W are free
            result = export_onnx(arch, path, shape=(side, side), dynamic=True)
            print(f'{name}: exported and verified in {time.perf_counter() - start:.0f} s '
                  f'({", ".join(f"{p:.0f} dB" for p in result["psnr_db"])})', flush=True)
            impls = implementations(name, path)
            for size in args.sizes:
                x = image(size)
                padded = tuple(pad_to_multiple(x, impls['pytorch'].size_multiple)[0].shape[-2:])
                times = {k: [] for k in impls}
                for k, model in impls.items():  # warm-up
                    time_once(model, x)
                for _ in range(args.runs):
                    for k, model in impls.items():
                        times[k].append(time_once(model, x))
                base = statistics.median(times['pytorch'])
                for k in impls:
                    med = statistics.median(times[k])
                    row = dict(arch=name, size=size, padded='x'.join(map(str, padded)), impl=k,
                               median_s=med, ratio=med / base)
                    if args.memory:
                        own = fresh(name, k, size, path if k == 'onnxruntime' else None, args.runs)
                        row.update(alone_s=own['median_s'], peak_mb=own['peak_mb'])
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print()
    head = '| arch | image (padded) | implementation | median s | vs pytorch |'
    sep = '|---|---|---|---:|---:|'
    if args.memory:
        head += ' alone: median s | alone: peak MB |'
        sep += '---:|---:|'
    print(head)
    print(sep)
    for r in rows:
        line = (f'| {r["arch"]} | {r["size"]} ({r["padded"]}) | {r["impl"]} | {r["median_s"]:.3f} | '
                f'{r["ratio"]:.2f} |')
        if args.memory:
            line += f' {r["alone_s"]:.3f} | {r["peak_mb"]:.0f} |'
        print(line)


if __name__ == '__main__':
    main()
