"""Is a restorelab arch equal to its official release? Measured on converted random weights.

    python benchmarks/official_equivalence.py MODEL --release DIR [--variant NAME ...]

``DIR`` is the official repository checked out in a scratch folder outside this one (nothing
of it is committed); ``benchmarks/equivalence/<MODEL>.py`` says how to build the release's
module from it. For each variant: the official module is built, every parameter redrawn
(seeded), saved in the release's own checkpoint format, converted by restorelab's converter,
loaded into restorelab's arch, and both run on the same seeded inputs at each size (one of
them not square), in float64 (max abs difference, goal <= 1e-8) and float32 (PSNR between
the outputs, goal >= 60 dB). The figures go to ``benchmarks/results/equivalence-<MODEL>.json``
(with the run's command, commit, date and machine), from which docs/model_zoo.md's
equivalence column is rendered. Exit 1 when a figure misses its goal.

An adapter module defines ``RELEASE`` (repository, commit), ``CONVERTER``, ``VARIANTS``
(name -> ``dict(arch=<restorelab arch config>, official=<whatever build_official takes>)``),
``SIZES`` and ``build_official(release_dir, official)``; optionally
``save_release_checkpoint(module, path)``, ``official_forward(module, x)``,
``ours_forward(module, x)`` (what of restorelab's arch to compare with it; default ``module(x)``),
``randomize(module, generator)`` and, for a release that is not PyTorch,
``compare(release_dir, variant, sizes, seed)`` returning the figures itself.
"""
import argparse
import copy
import importlib
import math
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import agreement_db, write_record  # noqa: E402

GOAL_F64 = 1e-8
GOAL_F32_DB = 60.0


def default_randomize(module, generator):
    """Redraw every floating-point parameter and buffer so that every key matters: weights
    ~ N(0, 1/fan_in), vectors ~ U(-0.2, 0.2), running variances ~ U(0.5, 1.5)."""
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if not tensor.is_floating_point():
                continue
            if name.endswith('running_var'):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif tensor.dim() > 1:
                fan_in = max(1, tensor[0].numel())
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / math.sqrt(fan_in))
            else:
                tensor.copy_((torch.rand(tensor.shape, generator=generator) - 0.5) * 0.4)


def _default_save(module, path):
    torch.save(module.state_dict(), path)


def _default_forward(module, x):
    out = module(x)
    return out[0] if isinstance(out, (tuple, list)) else out


def _default_ours_forward(module, x):
    return module(x)


def compare_torch(adapter, release_dir, variant, sizes, seed):
    """The figures of one variant of a PyTorch release (see the module doc)."""
    from restorelab.models.archs.common import count_parameters
    from restorelab.models.converters import load_official_checkpoint
    from restorelab.registry import MODELS

    spec = adapter.VARIANTS[variant]
    generator = torch.Generator().manual_seed(seed)
    official = adapter.build_official(release_dir, spec['official']).eval()
    getattr(adapter, 'randomize', default_randomize)(official, generator)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'official.pth'
        getattr(adapter, 'save_release_checkpoint', _default_save)(official, path)
        state_dict = load_official_checkpoint(path, adapter.CONVERTER, arch=spec['arch'])
    ours = MODELS.build(dict(spec['arch'])).eval()
    ours.load_state_dict(state_dict, strict=True)
    forward = getattr(adapter, 'official_forward', _default_forward)
    ours_forward = getattr(adapter, 'ours_forward', _default_ours_forward)
    figures = dict(params=count_parameters(ours),
                   official_params=sum(p.numel() for p in official.parameters()))
    # One copy of each model per precision, made from the same weights: casting one model back and
    # forth would leave float32-rounded weights in the float64 run of the next size.
    models = {dtype: (copy.deepcopy(official).to(dtype), copy.deepcopy(ours).to(dtype))
              for dtype in (torch.float64, torch.float32)}
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed + h * 1000 + w))
        row = {}
        for dtype, (official_d, ours_d) in models.items():
            with torch.no_grad():
                a, b = forward(official_d, x.to(dtype)), ours_forward(ours_d, x.to(dtype))
            if a.shape != b.shape:
                raise SystemExit(f'{variant} at {h}x{w}: official output {tuple(a.shape)}, '
                                 f'restorelab {tuple(b.shape)}')
            key = 'float64' if dtype == torch.float64 else 'float32'
            row[f'{key}_max_abs'] = float((a.double() - b.double()).abs().max())
            if dtype == torch.float32:
                row['float32_psnr_db'] = agreement_db(a, b)
        figures[f'{h}x{w}'] = row
    return figures


def meets_goals(figures):
    rows = [v for v in figures.values() if isinstance(v, dict)]
    return all(r['float64_max_abs'] <= GOAL_F64 and r['float32_psnr_db'] >= GOAL_F32_DB for r in rows)


def parse_size(text):
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size {text!r}: expected HxW, e.g. 64x96') from None
    return h, w


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', help='adapter name: a file benchmarks/equivalence/<model>.py')
    parser.add_argument('--release', required=True, type=Path,
                        help='the official repository checked out outside this one')
    parser.add_argument('--variant', nargs='*', help='variants to measure (default: all)')
    parser.add_argument('--sizes', nargs='*', type=parse_size, help="HxW (default: the adapter's)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=None,
                        help='results folder (default benchmarks/results)')
    args = parser.parse_args(argv)
    try:
        adapter = importlib.import_module(f'equivalence.{args.model}')
    except ModuleNotFoundError as err:
        adapters = sorted(p.stem for p in (Path(__file__).parent / 'equivalence').glob('[a-z]*.py'))
        parser.exit(2, f'error: no adapter {args.model!r} ({err}); known: {", ".join(adapters)}\n')
    if not args.release.is_dir():
        parser.exit(2, f'error: --release {args.release}: not a folder\n')
    variants = args.variant or list(adapter.VARIANTS)
    unknown = [v for v in variants if v not in adapter.VARIANTS]
    if unknown:
        parser.exit(2, f'error: unknown variant(s) {unknown}; known: {", ".join(adapter.VARIANTS)}\n')
    sizes = args.sizes or adapter.SIZES
    torch.set_num_threads(max(1, torch.get_num_threads()))
    compare = getattr(adapter, 'compare', None)
    results = dict(release=dict(repo=adapter.RELEASE[0], commit=adapter.RELEASE[1]),
                   converter=adapter.CONVERTER, seed=args.seed, goals=dict(
                       float64_max_abs=GOAL_F64, float32_psnr_db=GOAL_F32_DB), variants={})
    ok = True
    for variant in variants:
        if compare is not None:
            figures = compare(args.release, variant, sizes, args.seed)
        else:
            figures = compare_torch(adapter, args.release, variant, sizes, args.seed)
        results['variants'][variant] = figures
        ok &= meets_goals(figures)
        for size, row in figures.items():
            if isinstance(row, dict):
                print(f'{args.model} {variant} {size}: float64 max abs {row["float64_max_abs"]:.3g}, '
                      f'float32 {row["float32_psnr_db"]:.1f} dB (max abs {row["float32_max_abs"]:.3g})')
    path = write_record(f'equivalence-{args.model}', results, out_dir=args.out)
    print(f'written {path}' + ('' if ok else '; a figure misses its goal'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
