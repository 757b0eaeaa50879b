"""FADformer's size and cost at 256x256 in the conventions that give different numbers, as a record.

    python benchmarks/fadformer_cost.py [--variants FADformer FADformer_mini] [--size 256]

The paper prints 6.958 M parameters and 48.51 G FLOPs; the release's module has more parameters
and restorelab's counter (mmengine's, the one of tools/analysis/get_flops.py) counts fewer FLOPs.
For each variant this records:

* ``params``: every parameter (``sum(p.numel())``, what the converted checkpoints hold);
  ``params_of_modules_run``: those of the modules whose forward runs (the count of thop, whose
  ``profile`` the release's models/test_Overhead.py prints); ``modules_never_run``: which not.
* ``flops_mmengine``: restorelab's count_flops (mmengine's FlopAnalyzer, multiply-accumulates) and
  its split by operator (batch norm counted 1 per element; FFTs, GELU, sigmoid, products 0).
* ``flops_thop`` and its split by module type, when the ``thop`` package can be imported (it is not
  a restorelab dependency: put it on PYTHONPATH for this run); otherwise null.
* ``fft``: the rfft2/irfft2 calls (channels, size) that every counter above leaves at 0, and an
  estimate of their real floating-point operations with the textbook count of 2.5 N log2 N per
  real transform of N points (a convention, not a measurement of any FFT library).
"""
import argparse
import collections
import math
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import harness  # noqa: E402

VARIANTS = {'FADformer': dict(dim=32, depths=(4, 8, 10, 8, 4)),
            'FADformer_mini': dict(dim=24, depths=(2, 3, 4, 3, 2))}


def modules_run(net, x):
    """Names of the modules (with parameters of their own) whose forward ran on ``x``."""
    ran, handles = set(), []
    for name, module in net.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: ran.add(name)))
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return ran


def fft_calls(net, x):
    """(channels, H, W) of every Fourier unit's input: one rfft2 and one irfft2 each."""
    from projects.fadformer.fadformer import FourierUnit
    calls, handles = [], []
    for module in net.modules():
        if isinstance(module, FourierUnit):
            handles.append(module.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape[1:]))))
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return calls


def mmengine_flops(net, x):
    from mmengine.analysis import FlopAnalyzer
    from restorelab.benchmark import count_flops
    total = count_flops(net, tuple(x.shape[1:]))
    with torch.no_grad():
        analyzer = FlopAnalyzer(net, (x,))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_op = {k: int(v) for k, v in analyzer.by_operator().items()}
    return total, by_op


def thop_flops(net, x):
    try:
        import thop
        from thop.profile import register_hooks
    except ImportError:
        return None
    per_type = collections.Counter()

    def counting(fn, type_name):
        def hook(m, i, o):
            before = float(m.total_ops)
            fn(m, i, o)
            per_type[type_name] += float(m.total_ops) - before
        return hook

    custom = {t: counting(fn, t.__name__) for t, fn in register_hooks.items()}
    with torch.no_grad():
        macs, params = thop.profile(net, inputs=(x,), verbose=False, custom_ops=custom)
    return dict(version=getattr(thop, '__version__', 'unknown'), total=int(macs), params=int(params),
                by_module_type={k: int(v) for k, v in sorted(per_type.items()) if v})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--variants', nargs='*', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--size', type=int, default=256, help='square input side (a multiple of 4)')
    harness.add_record_options(parser, 'FADformer_mini at 16x16 (a check of the script)')
    args = parser.parse_args(argv)
    if args.dry_run:
        args.variants, args.size = ['FADformer_mini'], 16
    begun = harness.begin()
    from projects.fadformer.fadformer import FADformer
    torch.set_num_threads(max(1, torch.get_num_threads()))
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    results = dict(input=[3, args.size, args.size], variants={})
    for variant in args.variants:
        net = FADformer(**VARIANTS[variant]).eval()
        ran = modules_run(net, x)
        never = sorted(n for n, m in net.named_modules()
                       if any(True for _ in m.parameters(recurse=False)) and n not in ran)
        params = sum(p.numel() for p in net.parameters())
        unused = sum(p.numel() for n in never for p in net.get_submodule(n).parameters(recurse=False))
        total, by_op = mmengine_flops(net, x)
        calls = fft_calls(net, x)
        estimate = sum(2 * c * 2.5 * h * w * math.log2(h * w) for c, h, w in calls)
        results['variants'][variant] = dict(
            arch=dict(type='FADformer', **{k: list(v) if isinstance(v, tuple) else v
                                           for k, v in VARIANTS[variant].items()}),
            params=params, params_of_modules_run=params - unused,
            modules_never_run=dict(collections.Counter(re.sub(r'^layer\d\.blocks\.\d+\.', '<block>.', n)
                                                       for n in never)),
            flops_mmengine=total, flops_mmengine_by_operator=by_op,
            flops_thop=thop_flops(net, x),
            fft=dict(transforms=2 * len(calls), sizes=sorted(set(calls)),
                     estimated_real_flops=int(estimate),
                     estimate='sum over rfft2 and irfft2 calls of channels x 2.5 N log2 N, N = H x W'))
        row = results['variants'][variant]
        thop_total = row['flops_thop']['total'] if row['flops_thop'] else None
        print(f'{variant}: params {params} (modules that run: {params - unused}); mmengine {total / 1e9:.3f} G '
              f'{by_op}; thop {thop_total / 1e9 if thop_total else None} G; '
              f'{2 * len(calls)} FFTs, ~{estimate / 1e9:.2f} G real flops (estimate)')
    name = args.record or ('fadformer-cost-dry-run' if args.dry_run else 'fadformer-cost')
    command = [__file__, *(sys.argv[1:] if argv is None else argv)]
    print(f"written {harness.write_record(name, results, args.results_dir, argv=command, begun=begun)}")


if __name__ == '__main__':
    main()
