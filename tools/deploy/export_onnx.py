"""Export a restorelab model to ONNX, checked against PyTorch with ONNX Runtime (docs/deployment.md).

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--shape H W] [--dynamic]
        [--opset N] [--fp16]
    python tools/deploy/export_onnx.py NAME OUT.onnx [options]     e.g. NAME = prenet_rain100h

CHECKPOINT is a restorelab checkpoint (or an official one converted with
tools/convert_checkpoint.py); NAME a released model (python tools/zoo.py list), fetched into
the cache once. --shape is the traced input size (default 256x256 rounded up to the arch's
size multiple); --dynamic leaves height and width free (checked at a second size). The file is
written only when ONNX Runtime's output on random images is within 50 dB PSNR of PyTorch's
(40 dB with --fp16, which stores float16 weights); otherwise the error names the sub-module
that differs. Needs pip install -e '.[deploy]'. Exit status: 0 written, 2 for a user mistake
or a failed export/check (nothing written).
"""
import argparse
import os
import sys

from restorelab.utils.cli import split_model_arguments
from restorelab.utils.errors import UserInputError, user_error_message

DEFAULT_OPSET = 17  # restorelab.deploy.export.DEFAULT_OPSET (not imported: torch loads slowly)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a restorelab model to ONNX, verified with ONNX Runtime',
        usage='%(prog)s (CONFIG CHECKPOINT | NAME) OUT.onnx [options]')
    parser.add_argument('config', metavar='CONFIG|NAME',
                        help='the model\'s config file, or a released model name')
    parser.add_argument('paths', nargs='+', metavar='[CHECKPOINT] OUT.onnx',
                        help='the checkpoint (none after a NAME), then the .onnx file to write')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'), default=None,
                        help='traced input height and width (default 256 256, rounded up to the '
                             "arch's size multiple)")
    parser.add_argument('--dynamic', action='store_true',
                        help='free height and width (any multiple of the size multiple)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset, 14 to 20 (default {DEFAULT_OPSET})')
    parser.add_argument('--fp16', action='store_true',
                        help='store the weights as float16 (half the file; computed in float32)')
    args = parser.parse_args(argv)
    args.checkpoint, args.out = split_model_arguments(parser, args.config, args.paths, 'OUT.onnx')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if not args.out.endswith('.onnx'):
            raise UserInputError(f'OUT {args.out!r} should end in .onnx')
        from restorelab.deploy import require_deploy
        require_deploy()  # before the model is built: the missing package is the first thing to fix
        from restorelab.apis import load_restorer
        from restorelab.deploy import export_onnx
        model = load_restorer(args.config if args.checkpoint is None else
                              dict(config=args.config, checkpoint=args.checkpoint), device='cpu')
        arch_cfg = model.cfg.model.get('arch')
        name = arch_cfg.get('type') if isinstance(arch_cfg, dict) else None
        result = export_onnx(model.arch, args.out, shape=args.shape, dynamic=args.dynamic,
                             opset=args.opset, fp16=args.fp16,
                             arch_name=name if isinstance(name, str) else None, log=print)
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    checks = ', '.join(f'{s} {p:.1f} dB' for s, p in zip(result['shapes'], result['psnr_db']))
    print(f'wrote {result["path"]} ({os.path.getsize(result["path"]) / 2**20:.1f} MiB; ONNX Runtime '
          f'vs PyTorch: {checks})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
