"""Test a checkpoint on a config's test set(s).

    python tools/test.py CONFIG CHECKPOINT [--convert NAME] [--out metrics.json] [--save-images DIR]
        [--quantize round|truncate] [--bf16] [--compile] [--work-dir DIR] [--cfg-options key=value ...]
        [--watchdog-timeout S] [--launcher none|pytorch|slurm]

The model is CONFIG's, loaded with CHECKPOINT (an official release converted in memory with
--convert) by restorelab.apis.load_restorer; mmengine's test loop runs it on the config's
test_dataloader and scores it with its test_evaluator (on several processes with
tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [ARGS]: mmengine's distributed sampler and result
collection). A run that stops making progress for watchdog_timeout seconds ends with its stacks in
the log and one paragraph; SIGINT/SIGTERM stop it with status 128 + N (docs/reliability.md).
"""
import argparse
import os
import sys

from mmengine.config import DictAction

from restorelab.engine import launch, watchdog
from restorelab.engine.config_errors import check_config_keys, explain_config_error
from restorelab.engine.elastic import (SignalStop, exit_status_after_stop,
                                       stop_on_signals)
from restorelab.utils.errors import UserInputError
from restorelab.engine import setup_engine


def _fail(text, runner=None):
    """Print ``text`` as one paragraph, exit status 2; with the ``runner`` that failed, the
    paragraph also goes into its log, and a run folder holding nothing else is removed."""
    if runner is not None:
        launch.record_failure(runner, text)
    print(f'error: {text}', file=sys.stderr)
    return 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a restorelab checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (restorelab\'s, or converted with '
                        'tools/convert_checkpoint.py, or an official one with --convert)')
    parser.add_argument('--convert', metavar='NAME',
                        help='CHECKPOINT is an official release: convert it in memory with this '
                        "converter, e.g. 'prenet', 'restormer', 'drsformer'")
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--save-images', metavar='DIR', help='write every restored image here')
    parser.add_argument('--quantize', choices=('round', 'truncate'),
                        help='how restored images become 8 bits before scoring and saving: round '
                        '(the default of the metrics) or truncate (np.uint8(255 * out), as the '
                        'PReNet/BRN/AIDNet test scripts save, to reproduce their numbers)')
    parser.add_argument('--bf16', action='store_true',
                        help='run the model under bfloat16 autocast (model.test_cfg.bf16; approximate, and '
                        'slower for DRSformer on CPUs without AMX: see docs/performance.md)')
    parser.add_argument('--compile', action='store_true',
                        help='run a torch.compile\'d model (model.test_cfg.compile; minutes of compilation '
                        'per input size)')
    parser.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    parser.add_argument('--watchdog-timeout', type=float, metavar='SECONDS',
                        help='end the run when no process made progress for this long '
                        '(default: the config\'s watchdog_timeout, else 600 s; 0: no watchdog)')
    parser.add_argument('--print-work-dir', action='store_true',
                        help='print the work dir and exit (tools/dist_test.sh puts torchrun\'s '
                        'log there)')
    launch.add_runner_arguments(parser)
    return parser.parse_args(argv)


def _rank_zero():
    return os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) == '0'


def main(argv=None):
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    try:
        timeout = watchdog.check_timeout(args.watchdog_timeout, '--watchdog-timeout')
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    dog = None
    try:
        with stop_on_signals(), watchdog.watching(timeout=timeout, fallback=True) as dog:
            dog.configure(work_dir=args.work_dir,
                          next_step='Run the test again once the cause is fixed.')
            return _run(args, dog)
    except SignalStop as stop:
        if dog is not None and dog.ends_in_stall():  # the watchdog's paragraph says it all
            return watchdog.STALL_EXIT_STATUS
        if _rank_zero():
            print(f'testing stopped by {stop.signame}; nothing was saved: run it again',
                  file=sys.stderr, flush=True)
        return exit_status_after_stop(stop.signame)


def _run(args, dog):
    cfg = runner = None
    try:
        cfg = launch.load_config(args.config, args.cfg_options)
        watchdog.report_progress('start-up', detail='config read')
        if args.watchdog_timeout is not None:
            cfg.watchdog_timeout = args.watchdog_timeout
        launch.apply_inference_switches(cfg, bf16=args.bf16, compile=args.compile)
        launch.set_work_dir(cfg, args.config, args.work_dir)
        if args.print_work_dir:
            print(cfg.work_dir, flush=True)
            return 0
        dog.configure(work_dir=cfg.work_dir)
        launch.setup_distributed(cfg, args.launcher)
        quantize = launch.apply_quantize(cfg, args.quantize)
        launch.prepare_test(cfg, save_images=args.save_images, quantize=quantize)
        launch.apply_reliability(cfg, training=False)  # the watchdog's hook
        check_config_keys(cfg)  # every section the run builds, before it builds any
        # The checkpoint must fit the model (load_restorer lists missing/unexpected keys).
        from restorelab.apis import load_restorer
        model = load_restorer(dict(config=cfg, checkpoint=args.checkpoint, convert=args.convert),
                              device=launch.default_device())
        runner = launch.build_runner(cfg, show_config=args.show_config, model=model)
        metrics = runner.test()
        if args.out:
            launch.dump_metrics(metrics, args.out, cfg, args.checkpoint)
        launch.finish_distributed()
    except (UserInputError, RuntimeError) as err:
        if dog.ends_in_stall():  # e.g. a collective that lost the stalled process
            return watchdog.STALL_EXIT_STATUS
        if not isinstance(err, UserInputError):
            raise
        return _fail(launch.error_text(err), runner)
    except (TypeError, KeyError) as err:
        explained = explain_config_error(err, cfg) if cfg is not None else None
        if explained is None:
            raise
        return _fail(str(explained), runner)
    return 0


if __name__ == '__main__':
    sys.exit(main())
