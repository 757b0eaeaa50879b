"""Train a restorer from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|CKPT]] [--load-from CKPT] [--amp]
        [--batch-size N] [--cfg-options key=value ...] [--launcher none|pytorch|slurm]

With ``total_batch_size`` in the config, each iteration trains on that many samples
whatever the number of processes; ``--batch-size N`` (or the config's
``batch_size_per_process``) caps what one process puts through the model at once, and
the gradients of several such batches are accumulated (docs/gpu.md).

Several processes: tools/dist_train.sh [CONFIG] NUM_PROCS [ARGS] (torchrun;
nccl on GPUs, gloo on the CPU). When torchrun restarts the processes
(MAX_RESTARTS) or Slurm requeues the job, the run resumes by itself from the
newest complete checkpoint of its work dir (see docs/reliability.md).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402

from restorelab.engine import launch  # noqa: E402
from restorelab.engine.config_errors import check_config_keys, explain_config_error  # noqa: E402
from restorelab.engine.optim_wrapper import amp_optim_wrapper_type  # noqa: E402
from restorelab.utils.errors import RunAbortedError, UserInputError  # noqa: E402
from restorelab.engine import setup_engine  # noqa: E402


def _fail(err, code, runner=None):
    """Print ``err`` as one paragraph (naming the rank in distributed runs; only rank 0
    prints an error that every process raised alike); with the ``runner`` that failed, the
    paragraph also goes into its log, and a run folder holding nothing else is removed."""
    if runner is not None:
        launch.record_failure(runner, launch.error_text(err))
    rank = os.environ.get('RANK')
    distributed = rank is not None and os.environ.get('WORLD_SIZE', '1') != '1'
    if distributed and getattr(err, 'every_rank', False):
        if rank == '0':
            print(f'error: {launch.error_text(err)}', file=sys.stderr, flush=True)
        return code
    where = f' (rank {rank})' if distributed else ''
    print(f'error{where}: {launch.error_text(err)}', file=sys.stderr, flush=True)
    return code


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a restorelab model')
    parser.add_argument('config', help='config file, e.g. configs/drsformer_rain200h.py')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: the config\'s work_dir, else work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None, metavar='CKPT',
        help='resume from CKPT, or with no value from the newest checkpoint in the work dir '
        '(an error when there is none)')
    parser.add_argument(
        '--load-from', metavar='CKPT',
        help='start a new run from these weights (loaded with weights_only; they must fit the '
        'model). Unlike --resume, the iteration, optimizer and schedule start afresh')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (float16 on GPUs, bfloat16 on the CPU)')
    parser.add_argument('--batch-size', type=int, metavar='N',
                        help='samples per process at once (default: the config\'s '
                        'batch_size_per_process, else total_batch_size / processes); with '
                        'total_batch_size, each iteration accumulates the gradients of '
                        'total_batch_size / (N x processes) such batches')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the training step (mmengine\'s cfg.compile; see '
                        'docs/performance.md for when it helps)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. train_cfg.max_iters=20')
    parser.add_argument('--check', action='store_true',
                        help='check the config, the data folders and the checkpoints to resume '
                        'or load, then exit without training (tools/dist_train.sh runs this '
                        'before it launches the processes)')
    launch.add_runner_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    """Exit status: 0 done, 1 the run stopped (message says why; checkpoints
    are kept), 2 bad input (config, data, checkpoint), 128 + N stopped by
    signal N after saving a checkpoint."""
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    cfg = runner = None
    try:
        cfg = launch.load_config(args.config, args.cfg_options)
        launch.set_work_dir(cfg, args.config, args.work_dir)
        launch.setup_distributed(cfg, args.launcher)
        launch.apply_total_batch_size(cfg, launch.world_size(), args.batch_size)
        launch.apply_ema(cfg)
        launch.apply_reliability(cfg, training=True)
        resume = launch.resume_after_restart(cfg, args.resume)
        launch.resolve_resume(cfg, resume)
        if args.load_from is not None and not (resume and args.resume is None):
            launch.set_load_from(cfg, args.load_from, resume=resume)
        if args.amp:
            cfg.optim_wrapper.type = amp_optim_wrapper_type()
        if args.compile:
            cfg.compile = True
        check_config_keys(cfg)  # every section the run builds, before it builds any
        if args.check:
            if args.show_config:
                print(cfg.pretty_text, flush=True)
            summary = launch.check_summary(cfg, args.config, launch.check_data(cfg))
            print('\n'.join(summary), flush=True)
            return 0
        runner = launch.build_runner(cfg, show_config=args.show_config)
        runner.train()
        launch.finish_distributed()
    except UserInputError as err:
        return _fail(err, 2, runner)
    except RunAbortedError as err:
        return _fail(err, 1, runner)
    except (TypeError, KeyError) as err:
        explained = explain_config_error(err, cfg) if cfg is not None else None
        if explained is None:
            raise
        return _fail(explained, 2, runner)
    except RuntimeError as err:
        explained = launch.explain_distributed_failure(err, cfg) if cfg is not None else None
        if explained is None:
            raise
        return _fail(explained, 1, runner)
    stopped = runner.message_hub.get_info('stop_signal')
    if stopped:
        import signal
        step = runner.message_hub.get_info('stop_iter')
        print(f'training stopped by {stopped} at iteration {step} after saving its checkpoint; '
              'continue with --resume', file=sys.stderr, flush=True)
        return 128 + int(getattr(signal, stopped))
    return 0


if __name__ == '__main__':
    sys.exit(main())
