"""Write a paired synthetic-rain dataset in the Rain200 layout from clean images.

    python tools/make_synthetic_rain.py CLEAN_DIR OUT_DIR [--n-per-image K] [--seed S]
        [--preset light|heavy] [--set KEY=VALUE ...]

CLEAN_DIR is a folder of clean images (any depth), or ``skimage`` for the photographs that
ship inside scikit-image (``skimage:astronaut,coffee`` picks some). OUT_DIR receives
``input/<name>.png`` (rainy) and ``target/<name>.png`` (clean) with the same names
(``<name>_<k>`` when K > 1); sub-folders are kept. The same seed writes the same files.
Read it with ``dict(type='PairedImageDataset', data_root=OUT_DIR,
data_prefix=dict(img='input', gt='target'))``.
"""
import argparse
import ast
import os
import sys
import tempfile

from restorelab.utils.errors import UserInputError, user_error_message


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Render synthetic rain onto clean images')
    parser.add_argument('clean_dir', help='folder of clean images, or "skimage[:name,...]"')
    parser.add_argument('out_dir', help='output folder (input/ and target/ are created)')
    parser.add_argument('--n-per-image', type=int, default=1, help='rainy versions per image')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--preset', choices=['light', 'heavy'], default='heavy')
    parser.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override a rain parameter, e.g. density=0.003 angle="(-10,10)"')
    parser.add_argument('--max-side', type=int, default=None,
                        help='shrink the skimage photographs to this longer side')
    return parser.parse_args(argv)


def parse_overrides(items):
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep:
            raise UserInputError(f'--set {item!r}: expected KEY=VALUE, e.g. density=0.003')
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv=None):
    args = parse_args(argv)
    from restorelab.datasets.synthetic_rain import (export_skimage_photos, resolve_rain_params,
                                                    write_synthetic_pairs)
    try:
        if args.n_per_image < 1:
            raise UserInputError(f'--n-per-image {args.n_per_image}: expected an int >= 1')
        overrides = parse_overrides(args.set)
        resolve_rain_params(args.preset, **overrides)  # fail before writing anything
        with tempfile.TemporaryDirectory() as tmp:
            clean = args.clean_dir
            if clean == 'skimage' or clean.startswith('skimage:'):
                names = clean.partition(':')[2]
                names = [n for n in names.split(',') if n] or None
                export_skimage_photos(tmp, names, max_side=args.max_side)
                clean = tmp
            elif not os.path.isdir(clean):
                raise UserInputError(f'CLEAN_DIR {clean!r} is not a folder; give a folder of '
                                     'clean images or "skimage"')
            n = write_synthetic_pairs(clean, args.out_dir, args.n_per_image, args.seed,
                                      args.preset, overrides, progress=True)
    except UserInputError as err:
        print(f'error: {user_error_message(err)}', file=sys.stderr)
        return 2
    print(f'wrote {n} pairs to {args.out_dir}/input and {args.out_dir}/target')
    return 0


if __name__ == '__main__':
    sys.exit(main())
