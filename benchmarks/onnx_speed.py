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
multiple). Times are medians of ``--runs`` runs after one warm-up (the harness's ``interleaved``);
torch.set_num_threads(1). With ``--memory``, each implementation also runs alone in a fresh process
(``--runs`` runs after one), giving its own median and the peak resident-set growth of its first
run. The figures go to the record ``benchmarks/results/onnx_speed.json``.

    python benchmarks/onnx_speed.py                         # the five archs, both sizes
    python benchmarks/onnx_speed.py --archs PReNet --sizes 64x64 --runs 3   # a quick look
    python benchmarks/onnx_speed.py --dry-run               # PReNet at 16x16, one run: seconds
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

import torch  # noqa: E402

SCRIPT = 'onnx_speed'
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


def restore_runner(model, x):
    def run():
        with torch.no_grad():
            return model.restore(x)
    return run


def alone(args):
    """``--alone NAME IMPL SIZE ONNX``: one implementation in this (fresh) process; prints JSON."""
    name, impl, size, onnx_path = args.alone
    model = implementations(name, onnx_path if impl == 'onnxruntime' else None)[impl]
    harness.emit(harness.measure_here(restore_runner(model, image(size)), args.runs, 1))


def fresh(name, impl, size, onnx_path, runs):
    return harness.fresh_process(__file__, ['--alone', name, impl, size, onnx_path or '-', '--runs', runs], 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=ARCHS)
    parser.add_argument('--sizes', nargs='+', default=list(SIZES), help='HxW, e.g. 256x256')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--memory', action='store_true',
                        help='also run each implementation alone in a fresh process (peak memory)')
    harness.add_record_options(parser, 'PReNet at 16x16, one run: seconds (a check of the script)')
    parser.add_argument('--alone', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f'--runs must be >= 1 (got {args.runs})')
    for size in args.sizes:
        if not all(v.isdigit() and int(v) > 0 for v in size.split('x')) or size.count('x') != 1:
            parser.error(f'--sizes {size!r}: expected HxW, e.g. 256x256')
    harness.set_threads(1)
    if args.alone:
        return alone(args)
    if args.dry_run:
        args.archs, args.sizes, args.runs = ['PReNet'], ['16x16'], 1
    begun = harness.begin()
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
            export_db = min(result['psnr_db'])
            print(f'{name}: exported and verified in {time.perf_counter() - start:.0f} s '
                  f'({", ".join(f"{p:.0f} dB" for p in result["psnr_db"])})', flush=True)
            impls = implementations(name, path)
            for size in args.sizes:
                x = image(size)
                padded = tuple(pad_to_multiple(x, impls['pytorch'].size_multiple)[0].shape[-2:])
                figures, _ = harness.interleaved({k: restore_runner(m, x) for k, m in impls.items()},
                                                 args.runs, warmup=1)
                base = figures['pytorch']['steady']
                for k in impls:
                    med = figures[k]['steady']
                    row = dict(arch=name, size=size, padded='x'.join(map(str, padded)), impl=k,
                               median_s=med, ratio=med / base, times=figures[k]['times'],
                               export_psnr_db=export_db, load_average=harness.load_average())
                    if args.memory:
                        own = fresh(name, k, size, path if k == 'onnxruntime' else None, args.runs)
                        row.update(alone_s=own['steady'], peak_mb=own['peak_mb'])
                    rows.append(row)
                    print(f'# {name} {size} {k}: {figures[k]["times"]} s, load {row["load_average"]}', flush=True)
    print()
    results = dict(threads=1, runs=args.runs, memory=args.memory, rows=rows)
    print('\n'.join(tables.onnx(results)))
    harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
