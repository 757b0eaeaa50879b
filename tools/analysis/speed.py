"""Latency and peak memory of a config's restorer on one image.

    python tools/analysis/speed.py CONFIG [--checkpoint CKPT] [--shape 3 256 256]
        [--runs 5] [--warmup 2] [--device cpu|cuda] [--cfg-options key=value ...]

Reports the median of --runs calls after --warmup calls of the restorer
(padding, tiling and self-ensemble from the config's model.test_cfg) and the
peak memory of one call (CUDA: max allocated; CPU: growth of the peak resident
set size). Without --checkpoint the weights are random (same speed).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from mmengine.config import DictAction  # noqa: E402

from restorelab.utils.errors import UserInputError, user_error_message  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Measure the latency and memory of a model')
    parser.add_argument('config', help='model config (configs with custom_imports work)')
    parser.add_argument('--checkpoint', help='restorelab checkpoint (default: random weights)')
    parser.add_argument('--shape', type=int, nargs=3, default=[3, 256, 256],
                        metavar=('C', 'H', 'W'), help='input shape (default 3 256 256)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs (median reported)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs before')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from restorelab.apis import init_model
    from restorelab.benchmark import count_parameters, measure_speed
    from restorelab.benchmark.runner import check_device
    from restorelab.engine.launch import load_config

    try:
        device = check_device(args.device)
        cfg = load_config(args.config, args.cfg_options)
        model = init_model(cfg, args.checkpoint, device=device)
        result = measure_speed(model, args.shape, args.runs, args.warmup, device)
    except (UserInputError, ValueError) as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    memory = result['peak_memory_mb']
    print(f'arch: {type(model.arch).__name__} ({count_parameters(model.arch)} params), '
          f'device {device}, input {"x".join(map(str, args.shape))}')
    print(f'latency: {result["latency_ms"]:.2f} ms (median of {args.runs} runs after '
          f'{args.warmup} warm-up runs; all: '
          + ', '.join(f'{t:.2f}' for t in result['latencies_ms']) + ')')
    print('peak memory: ' + ('unavailable' if memory is None else
                             f'{memory:.1f} MiB ({result["memory_method"]})'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
