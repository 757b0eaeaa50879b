"""Convert an official-release checkpoint into a restorelab checkpoint.

    python tools/convert_checkpoint.py restormer deraining.pth restormer_deraining.pth
    python tools/convert_checkpoint.py prenet logs/Rain100H/PReNet6/net_latest.pth prenet_rain100h.pth
    python tools/convert_checkpoint.py restormer official.pth out.pth --check-config configs/restormer/restormer_rain200h.py

The output, ``{'state_dict': {'arch.<key>': tensor}, 'meta': {...}}``, loads
into ``ImageRestorer`` with mmengine's ``load_checkpoint`` (``load_from`` in a
config, or ``tools/test.py CONFIG OUT.pth``). Plugins under ``projects/*/``
are imported first so that their converters (e.g. 'drsformer') are known.
"""
import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', help="converter name, e.g. 'restormer', 'prenet', 'drsformer'")
    parser.add_argument('src', help='official checkpoint: a torch file (.pth), or a TensorFlow '
                                    'checkpoint read without TensorFlow (its prefix, its .index '
                                    'file, the folder holding it, or a .zip archive holding it)')
    parser.add_argument('dst', help='restorelab checkpoint to write (.pth)')
    parser.add_argument('--check-config', metavar='CONFIG',
                        help='config whose model.arch the result must fit (default: the '
                             "converter's arch with its default options)")
    parser.add_argument('--key', help='wrapper key holding the weights (default: params, then '
                                      'params_ema, then state_dict, else the top level)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from restorelab.models.converters import (CheckpointConversionError,
                                             convert_official_checkpoint,
                                             import_project_plugins)

    failed_plugins = import_project_plugins(REPO_ROOT)
    arch = None
    if args.check_config:
        from mmengine.config import Config
        arch = Config.fromfile(args.check_config).model
    try:
        meta = convert_official_checkpoint(args.model, args.src, args.dst, arch=arch, key=args.key)
    except CheckpointConversionError as err:
        msg = f'error: {err}'
        if failed_plugins:
            msg += '\nplugins that failed to import: ' + '; '.join(
                f'{m} ({e})' for m, e in failed_plugins.items())
        print(msg, file=sys.stderr)
        return 2  # the user's input: the converter name, the file or --key
    print(f"wrote {args.dst}: {meta['num_params']:,} parameters from {meta['source']} "
          f"(converter {meta['converter']!r}, arch {meta['arch']})")
    return 0


if __name__ == '__main__':
    sys.exit(main())
