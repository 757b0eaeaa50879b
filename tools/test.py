"""Test a checkpoint on a config's test set(s).

    python tools/test.py CONFIG CHECKPOINT [--convert NAME] [--out metrics.json] [--save-images DIR]
        [--quantize round|truncate] [--bf16] [--compile] [--work-dir DIR] [--cfg-options key=value ...]
        [--launcher none|pytorch|slurm]

The model is CONFIG's, loaded with CHECKPOINT (an official release converted in memory with
--convert) by restorelab.apis.load_restorer; mmengine's test loop runs it on the config's
test_dataloader and scores it with its test_evaluator (on several processes with
tools/dist_test.sh: mmengine's distributed sampler and result collection).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402

from restorelab.engine import launch  # noqa: E402
from restorelab.engine.config_errors import check_config_keys, explain_config_error  # noqa: E402
from restorelab.utils.errors import UserInputError  # noqa: E402
from restorelab.engine import setup_engine  # noqa: E402


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
    launch.add_runner_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    cfg = runner = None
    try:
        cfg = launch.load_config(args.config, args.cfg_options)
        launch.apply_inference_switches(cfg, bf16=args.bf16, compile=args.compile)
        launch.set_work_dir(cfg, args.config, args.work_dir)
        launch.setup_distributed(cfg, args.launcher)
        quantize = launch.apply_quantize(cfg, args.quantize)
        launch.prepare_test(cfg, save_images=args.save_images, quantize=quantize)
        check_config_keys(cfg)  # every section the run builds, before it builds any
        # The checkpoint must fit the model: listed missing/unexpected keys, no partial load.
        from restorelab.apis import load_restorer
        model = load_restorer(dict(config=cfg, checkpoint=args.checkpoint, convert=args.convert),
                              device=launch.default_device())
        runner = launch.build_runner(cfg, show_config=args.show_config, model=model)
        metrics = runner.test()
        if args.out:
            launch.dump_metrics(metrics, args.out, cfg, args.checkpoint)
        launch.finish_distributed()
    except UserInputError as err:
        return _fail(launch.error_text(err), runner)
    except (TypeError, KeyError) as err:
        explained = explain_config_error(err, cfg) if cfg is not None else None
        if explained is None:
            raise
        return _fail(str(explained), runner)
    return 0


if __name__ == '__main__':
    sys.exit(main())
