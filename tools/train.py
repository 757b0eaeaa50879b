"""Train a restorer from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|CKPT]] [--load-from CKPT] [--amp]
        [--batch-size N] [--watchdog-timeout S] [--cfg-options key=value ...]
        [--launcher none|pytorch|slurm]

With ``total_batch_size`` in the config, each iteration trains on that many samples
whatever the number of processes; ``--batch-size N`` (or the config's
``batch_size_per_process``) caps what one process puts through the model at once, and
the gradients of several such batches are accumulated (docs/gpu.md).

Several processes: tools/dist_train.sh [CONFIG] NUM_PROCS [ARGS] (torchrun;
nccl on GPUs, gloo on the CPU). When torchrun restarts the processes
(MAX_RESTARTS) or Slurm requeues the job, the run resumes by itself from the
newest complete checkpoint of its work dir. A run that stops making progress for
watchdog_timeout seconds ends (and is restarted by torchrun when it may), with
its stacks in the log and one paragraph on the screen (see docs/reliability.md).
"""
import argparse
import os
import shlex
import sys

from mmengine.config import DictAction

from restorelab.engine import launch, watchdog
from restorelab.engine.config_errors import check_config_keys, explain_config_error
from restorelab.engine.elastic import exit_status_after_stop
from restorelab.engine.optim_wrapper import amp_optim_wrapper_type
from restorelab.utils.errors import RunAbortedError, UserInputError
from restorelab.engine import setup_engine


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
    parser.add_argument('--print-work-dir', action='store_true',
                        help='with --check: print the work dir as the last line')
    add_watchdog_argument(parser)
    launch.add_runner_arguments(parser)
    return parser.parse_args(argv)


def add_watchdog_argument(parser):
    parser.add_argument('--watchdog-timeout', type=float, metavar='SECONDS',
                        help='end the run when no process made progress for this long '
                        '(default: the config\'s watchdog_timeout, else 10 x the median '
                        'iteration, at least 600 s; 0: no watchdog). See docs/reliability.md')


def continue_command(argv, args):
    """The command that continues this run: its own arguments (without --launcher, --resume,
    --load-from, --check) and --resume, through the launcher it was started with."""
    rest, drop = [], {'--launcher': 1, '--load-from': 1, '--resume': 0, '--check': 0,
                      '--print-work-dir': 0}
    tokens = list(argv)
    i = 0
    config_dropped = False
    while i < len(tokens):
        token = tokens[i]
        name = token.split('=', 1)[0]
        if name in drop and token.startswith('--'):
            skip = drop[name]
            if name == '--resume' and '=' not in token and args.resume is not None \
                    and i + 1 < len(tokens) and tokens[i + 1] == args.resume:
                skip = 1
            i += 1 + (skip if '=' not in token else 0)
            continue
        if not config_dropped and token == args.config:
            config_dropped = True
        else:
            rest.append(token)
        i += 1
    if args.launcher == 'pytorch':
        procs = os.environ.get('LOCAL_WORLD_SIZE', os.environ.get('WORLD_SIZE', 'N'))
        nodes = int(os.environ.get('GROUP_WORLD_SIZE', '1') or 1)
        command = ['tools/dist_train.sh', args.config, procs, *rest, '--resume']
        where = ' on each machine' if nodes > 1 else ''
        return f'`{shlex.join(command)}`{where}'
    if args.launcher == 'slurm':
        command = ['tools/train.py', args.config, *rest, '--launcher', 'slurm', '--resume']
        return f'`{shlex.join(command)}` under srun (or requeue the job)'
    return f'`{shlex.join(["tools/train.py", args.config, *rest, "--resume"])}`'


def _is_rank_zero():
    return os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) == '0'


def main(argv=None):
    """Exit status: 0 done, 1 the run stopped (message says why; checkpoints
    are kept), 2 bad input (config, data, checkpoint), 128 + N stopped by
    signal N after saving a checkpoint."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    if args.check:
        return _run(args, argv, None)
    try:
        with watchdog.watching(timeout=_valid_timeout(args.watchdog_timeout),
                               fallback=True) as dog:
            return _run(args, argv, dog)
    except UserInputError as err:
        return _fail(err, 2)


def _valid_timeout(value):
    try:
        return watchdog.check_timeout(value, '--watchdog-timeout')
    except ValueError as err:
        raise launch.LaunchError(str(err)) from None


def _run(args, argv, dog):
    """Train (or check, without a watchdog ``dog``); the exit status."""
    cfg = runner = None
    if dog is not None:
        dog.configure(work_dir=args.work_dir)
    try:
        cfg = launch.load_config(args.config, args.cfg_options)
        watchdog.report_progress('start-up', detail='config read')
        if args.watchdog_timeout is not None:
            cfg.watchdog_timeout = args.watchdog_timeout
        launch.set_work_dir(cfg, args.config, args.work_dir)
        launch.apply_reliability(cfg, training=True)  # checks watchdog_timeout
        if dog is not None:
            dog.configure(timeout=cfg.get('watchdog_timeout'), work_dir=cfg.work_dir,
                          next_step='Once the cause is fixed, continue with '
                          f'{continue_command(argv, args)}.')
        launch.setup_distributed(cfg, args.launcher)
        launch.apply_total_batch_size(cfg, launch.world_size(), args.batch_size)
        launch.apply_ema(cfg)
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
            if args.print_work_dir:  # last: tools/dist_train.sh reads it
                print(cfg.work_dir, flush=True)
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
        if dog is not None and dog.ends_in_stall():  # a collective that lost the stalled process
            return watchdog.STALL_EXIT_STATUS
        explained = launch.explain_distributed_failure(err, cfg) if cfg is not None else None
        if explained is None:
            raise
        return _fail(explained, 1, runner)
    stopped = runner.message_hub.get_info('stop_signal')
    if stopped:
        step = runner.message_hub.get_info('stop_iter')
        checkpoint = runner.message_hub.get_info('stop_checkpoint')
        if _is_rank_zero():  # one message for the run, not one per process
            print(f'training stopped by {stopped} at iteration {step} after saving {checkpoint}; '
                  f'continue with {continue_command(argv, args)}', file=sys.stderr, flush=True)
        return exit_status_after_stop(stopped, iteration=step, checkpoint=checkpoint)
    return 0


if __name__ == '__main__':
    sys.exit(main())
