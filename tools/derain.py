"""Derain your own images with a trained (or converted official) checkpoint, or with a
released model by name (downloaded once into the cache and verified; see docs/model_zoo.md).

    python tools/derain.py CONFIG CHECKPOINT INPUT [--out DIR] [--tile 256|auto --tile-overlap 32]
        [--self-ensemble] [--device cpu|cuda]
    python tools/derain.py NAME INPUT [options]      e.g. NAME = prenet_rain100h
    python tools/derain.py --backend onnxruntime MODEL.onnx INPUT [options]

--backend pytorch (the default) runs the config's model; --backend onnxruntime runs a file
exported with tools/deploy/export_onnx.py in ONNX Runtime on the CPU, with the same padding,
tiling and self-ensemble (docs/deployment.md; needs pip install -e '.[deploy]').

INPUT is an image file or a folder (searched recursively; sub-folders are kept under
--out). Each result has its input's name and format: a JPEG input is written as JPEG at
quality 95 (lossy); --format png writes every result as PNG (lossless). 8- and 16-bit files
keep their depth, gray stays gray, RGBA keeps its alpha, EXIF orientation is applied. A file that cannot be read is reported and skipped; the exit status
is 1 when any file failed, 2 for a bad config/checkpoint/argument.
"""
import argparse
import os
import sys

from restorelab.utils.cli import split_model_arguments
from restorelab.utils.errors import UserInputError, user_error_message

BACKENDS = ('pytorch', 'onnxruntime')


def tile_size(text):
    """``--tile``: a tile side in pixels, or 'auto' (tiles only for images above 512x512 pixels)."""
    if text == 'auto':
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a tile size in pixels nor 'auto'") from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Derain image files with a restorelab model',
        usage='%(prog)s (CONFIG CHECKPOINT | NAME) INPUT [options]')
    parser.add_argument('config', metavar='CONFIG|NAME|MODEL.onnx',
                        help='the model\'s config file, or the name of a released model '
                             '(python tools/zoo.py list), which replaces CONFIG and CHECKPOINT; '
                             'with --backend onnxruntime an exported .onnx file')
    parser.add_argument('paths', nargs='+', metavar='[CHECKPOINT] INPUT',
                        help='checkpoint (restorelab\'s, or an official release converted with '
                             'tools/convert_checkpoint.py; none after a NAME), then an image file '
                             'or a folder of images')
    parser.add_argument('--out', default='work_dirs/derained', help='output folder '
                        '(default: work_dirs/derained)')
    parser.add_argument('--format', choices=('same', 'png'), default='same',
                        help='same: each result in its input\'s format (JPEG inputs as JPEG at '
                        'quality 95, lossy; the default); png: every result as PNG (lossless)')
    parser.add_argument('--tile', type=tile_size, default=None,
                        help="tile size for large images (bounded memory), e.g. 256; 'auto': "
                             '512-pixel tiles for images above 512x512 pixels, whole otherwise')
    parser.add_argument('--tile-overlap', type=int, default=32, help='tile overlap in pixels')
    parser.add_argument('--self-ensemble', action='store_true', help='x8 flip/transpose ensemble')
    parser.add_argument('--bf16', action='store_true',
                        help='bfloat16 autocast (approximate; slower for DRSformer on CPUs without AMX)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the model (minutes of compilation per image size)')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='pytorch (default): CONFIG CHECKPOINT or NAME; onnxruntime: an .onnx '
                             'from tools/deploy/export_onnx.py, run on the CPU')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda or cuda:N (default: cuda when present, else cpu)')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.backend == 'onnxruntime':
        if len(args.paths) != 1:
            parser.error(f'--backend onnxruntime takes MODEL.onnx INPUT, got {args.config} '
                         f'{" ".join(args.paths)}')
        for flag in ('bf16', 'compile'):
            if getattr(args, flag):
                parser.error(f'--{flag} is a PyTorch option; --backend onnxruntime runs the exported '
                             'graph as it is')
        if args.device not in (None, 'cpu'):
            parser.error(f'--device {args.device}: --backend onnxruntime runs on the CPU')
        args.checkpoint, args.input = None, args.paths[0]
        return args
    args.checkpoint, args.input = split_model_arguments(parser, args.config, args.paths, 'INPUT')
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch

    from restorelab.apis import load_restorer
    from restorelab.apis.images import JPEG_QUALITY, derain_files, list_images
    from restorelab.models.restorers.inference_utils import check_test_cfg

    onnx = args.backend == 'onnxruntime'
    device = 'cpu' if onnx else args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        if not os.path.exists(args.input):
            raise UserInputError(f'INPUT {args.input!r} does not exist; give an image file or a '
                                 'folder of images')
        items = list_images(args.input)
        if not items:
            raise UserInputError(f'no image files (.png .jpg .jpeg .bmp .tif .tiff .webp) under '
                                 f'{args.input!r}')
        # One model reference: an exported .onnx, a released name, or CONFIG + CHECKPOINT.
        ref = (dict(onnx=args.config) if onnx else args.config if args.checkpoint is None
               else dict(config=args.config, checkpoint=args.checkpoint))
        model = load_restorer(ref, device=device)
        test_cfg = dict(tile=args.tile, tile_overlap=args.tile_overlap,
                        self_ensemble=args.self_ensemble)
        if args.bf16:
            test_cfg['bf16'] = True
        if args.compile:
            test_cfg['compile'] = True
        try:
            check_test_cfg({**model.test_cfg, **test_cfg}, model.size_multiple)
        except ValueError as err:
            raise UserInputError(f'{err} (from --tile/--tile-overlap)') from None
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    fmt = None if args.format == 'same' else args.format
    where = 'ONNX Runtime (CPU)' if onnx else device
    print(f'derain {len(items)} image(s) from {args.input} into {args.out} on {where}')
    jpegs = sum(rel.lower().endswith(('.jpg', '.jpeg')) for _, rel in items)
    if jpegs and fmt is None:
        print(f'{jpegs} JPEG input(s) are written as JPEG at quality {JPEG_QUALITY} (lossy); '
              '--format png writes PNG')
    with torch.no_grad():
        written, failed = derain_files(model, items, args.out, test_cfg=test_cfg,
                                       progress=not args.no_progress,
                                       log=lambda m: print(m, file=sys.stderr), fmt=fmt)
    print(f'wrote {len(written)} image(s) to {args.out}')
    if failed:
        print(f'error: {len(failed)} of {len(items)} file(s) failed:', file=sys.stderr)
        for path, msg in failed:
            print(f'  {path}: {msg}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
