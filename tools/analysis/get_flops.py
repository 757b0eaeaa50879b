"""Parameters and FLOPs of a config's arch on one input.

    python tools/analysis/get_flops.py CONFIG [--shape 3 256 256] [--table]
        [--cfg-options key=value ...]

FLOPs are multiply-accumulates as mmengine.analysis counts them (conv, linear,
matmul; elementwise ops, softmax and top-k count 0), the papers' convention.
'flops' counts the function as the papers do (the release formulation: for an
arch with a fast path, a copy with fast=False and the same weights); 'flops
executed' what the arch as built runs (different only with a fast path).
"""
import argparse
import sys

from mmengine.config import DictAction

from restorelab.utils.errors import UserInputError, user_error_message


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count the parameters and FLOPs of a model')
    parser.add_argument('config', help='model config (configs with custom_imports work)')
    parser.add_argument('--shape', type=int, nargs=3, default=[3, 256, 256],
                        metavar=('C', 'H', 'W'), help='input shape (default 3 256 256)')
    parser.add_argument('--table', action='store_true',
                        help="also print mmengine's per-module table (of the release formulation)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from restorelab.apis import init_model
    from restorelab.benchmark import count_flops, count_parameters, release_formulation, runs_fast_path
    from restorelab.engine.launch import load_config

    try:
        cfg = load_config(args.config, args.cfg_options)
        model = init_model(cfg)
        fast_path = runs_fast_path(model.arch)
        paper_arch = release_formulation(model.arch)
        flops = count_flops(paper_arch, args.shape, quiet=False)
        executed = count_flops(model.arch, args.shape, quiet=False) if fast_path else flops
    except (UserInputError, ValueError) as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    params = count_parameters(model.arch)
    shape = 'x'.join(map(str, args.shape))
    print(f'arch: {type(model.arch).__name__}')
    print(f'input shape: {shape}')
    print(f'params: {params} ({params / 1e6:.3f} M)')
    print(f'flops: {flops} ({flops / 1e9:.3f} G multiply-accumulates, the release formulation as '
          'the papers count it)')
    print(f'flops executed: {executed} ({executed / 1e9:.3f} G, '
          + ('the fast path restorelab runs)' if fast_path else 'no fast path: the same)'))
    if args.table:
        import torch
        from mmengine.analysis import get_model_complexity_info
        with torch.no_grad():
            info = get_model_complexity_info(paper_arch, input_shape=tuple(args.shape),
                                             show_arch=False)
        print(info['out_table'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
