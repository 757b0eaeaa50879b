"""Latency and peak memory of a config's restorer on one image.

    python tools/analysis/speed.py CONFIG [--checkpoint CKPT] [--shape 3 256 256]
        [--runs 5] [--warmup 2] [--device cpu|cuda] [--clock wall|cpu] [--threads N]
        [--record FILE] [--cfg-options key=value ...]

Reports the first call and the median of --runs calls after --warmup calls of the restorer
(padding, tiling and self-ensemble from the config's model.test_cfg), and the peak memory of one
call (CUDA: max allocated; CPU: growth of the peak resident set size). Without --checkpoint the
weights are random (same speed). The measurement is tools/benchmark.py's
(restorelab.benchmark.measure_speed, on restorelab.utils.profiling, the harness of benchmarks/); --record FILE writes the figures with the run's record (command,
commit, date, machine and its load) as JSON.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

from restorelab.utils.errors import UserInputError, user_error_message


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Measure the latency and memory of a model')
    parser.add_argument('config', help='model config (configs with custom_imports work)')
    parser.add_argument('--checkpoint', help='restorelab checkpoint (default: random weights)')
    parser.add_argument('--shape', type=int, nargs=3, default=[3, 256, 256],
                        metavar=('C', 'H', 'W'), help='input shape (default 3 256 256)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs (median reported)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs before')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda'")
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help="wall: elapsed time (default); cpu: this process's CPU time")
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: as torch chooses)')
    parser.add_argument('--record', metavar='FILE', help='also write the figures and the run record here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from restorelab.apis import init_model
    from restorelab.apis.models import check_device
    from restorelab.benchmark import count_parameters, measure_speed
    from restorelab.engine.launch import load_config
    from restorelab.utils import profiling

    try:
        if args.threads is not None:
            profiling.set_threads(args.threads)
        begun = profiling.begin()
        device = check_device(args.device, '--device')
        cfg = load_config(args.config, args.cfg_options)
        model = init_model(cfg, args.checkpoint, device=device)
        result = measure_speed(model, args.shape, args.runs, args.warmup, device, clock=args.clock)
    except (UserInputError, ValueError) as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    memory = result['peak_memory_mb']
    print(f'arch: {type(model.arch).__name__} ({count_parameters(model.arch)} params), '
          f'device {device}, input {"x".join(map(str, args.shape))}')
    print(f'latency: {result["latency_ms"]:.2f} ms (median of {args.runs} runs after '
          f'{args.warmup} warm-up runs; all: '
          + ', '.join(f'{t:.2f}' for t in result['latencies_ms'])
          + f'; first call {result["first_ms"]:.2f} ms; {args.clock} clock)')
    print('peak memory: ' + ('unavailable' if memory is None else
                             f'{memory:.1f} MiB ({result["memory_method"]})'))
    if args.record:
        result.update(config=args.config, checkpoint=args.checkpoint, device=device,
                      arch=type(model.arch).__name__, params=count_parameters(model.arch))
        command = [os.path.abspath(__file__), *(sys.argv[1:] if argv is None else argv)]
        path = profiling.write_record(args.record, os.path.splitext(os.path.basename(args.record))[0],
                                      result, argv=command, begun=begun)
        print(f'record: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
