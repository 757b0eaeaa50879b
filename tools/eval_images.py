"""Score a folder of derained results against ground truth under a deraining protocol.

The folders are a saved-results dataset (restorelab.datasets.SavedResultsDataset) run through
mmengine's Evaluator with the PSNR/SSIM (or NIQE/BRISQUE) metrics that tools/test.py and the
benchmark use, so the numbers agree to the bit.

Example:
    python tools/eval_images.py results/Rain200H data/Rain200H/test/target \\
        --protocol restormer --out work_dirs/rain200h_metrics.json
    python tools/eval_images.py did_ddn did_ddn --protocol rcdnet \\
        --pair-by template --result-template '{}_DR' --gt-template '{}_GT'
    python tools/eval_images.py results/real_rain --no-reference --niqe-params modelparameters.mat
    python tools/eval_images.py results/real_rain --no-reference --brisque-params BRISQUE_release
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from restorelab.evaluation.folder import PAIR_MODES, evaluate_folder  # noqa: E402
from restorelab.evaluation.functional import PROTOCOLS  # noqa: E402
from restorelab.evaluation.report import format_report, write_report  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='PSNR/SSIM of a folder of results against a folder of ground truths, '
        'computed exactly as the official MATLAB evaluation scripts do.')
    parser.add_argument('results_dir', help='folder of result images (8-bit)')
    parser.add_argument('gt_dir', nargs='?', help='folder of ground-truth images (8-bit)')
    parser.add_argument('--protocol', choices=PROTOCOLS,
                        help='restormer: Rain200L/H, SPA-Data; rcdnet: DID-Data, DDN-Data; '
                        'basicsr: BasicSR/mmagic float-Y style')
    parser.add_argument('--pair-by', default='name', choices=PAIR_MODES,
                        help='name: same file stem (default); template: see --result-template/'
                        '--gt-template; position: MATLAB [dir(*.jpg); dir(*.png)] order')
    parser.add_argument('--result-template', default='{}',
                        help="result stem pattern for --pair-by template, e.g. '{}_DR'")
    parser.add_argument('--gt-template', default='{}',
                        help="ground-truth stem pattern for --pair-by template, e.g. '{}_GT'")
    parser.add_argument('--channels', choices=('y', 'rgb'), default='y',
                        help="y: the protocol's luma (default, as its MATLAB script); rgb: the "
                        'three colour channels, the other convention some papers report')
    parser.add_argument('--crop-border', type=int, default=0,
                        help='pixels removed from each edge (basicsr protocol only)')
    parser.add_argument('--quantize', choices=('round', 'truncate'),
                        help='score 16-bit result files at 8 bits, rounded or truncated '
                        '(np.uint8(255 * out), as the PReNet/BRN/AIDNet test scripts save); '
                        'without it 16-bit results are refused')
    parser.add_argument('--out', help='write per-image values and the mean to a .json or .csv file')
    parser.add_argument('--skip-bad', action='store_true',
                        help='skip (and list) pairs with a missing partner, an unreadable file or '
                        'a size mismatch instead of stopping')
    parser.add_argument('--no-reference', action='store_true',
                        help='score RESULTS_DIR alone with NIQE and/or BRISQUE (real rain without '
                        'ground truth)')
    parser.add_argument('--niqe-params', help='NIQE pristine model: modelparameters.mat of the '
                        'official release, or .npz (mu_pris_param, cov_pris_param)')
    parser.add_argument('--brisque-params', help='BRISQUE SVR model: the LIVE release folder '
                        'holding allmodel and allrange, the allmodel file, or .npz (see docs/evaluation.md)')
    parser.add_argument('--brisque-range', help='BRISQUE svm-scale range file, when it is not '
                        'allrange beside the model')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.no_reference:
        if args.gt_dir or args.protocol:
            parser.error('--no-reference scores RESULTS_DIR alone: give no GT_DIR and no --protocol')
        if not args.niqe_params and not args.brisque_params:
            parser.error('--no-reference needs --niqe-params FILE (the NIQE pristine model), '
                         '--brisque-params FILE (the BRISQUE model) or both')
    elif args.niqe_params or args.brisque_params or args.brisque_range:
        parser.error('--niqe-params/--brisque-params/--brisque-range go with --no-reference')
    if args.brisque_range and not args.brisque_params:
        parser.error('--brisque-range needs --brisque-params')
    if not args.no_reference and (not args.gt_dir or not args.protocol):
        parser.error('GT_DIR and --protocol are required (or use --no-reference)')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.no_reference:  # the metrics of tools/test.py and the benchmark, as configs
        metrics, used = [], []
        if args.niqe_params:
            metrics.append(dict(type='NIQE', params_file=args.niqe_params,
                                crop_border=args.crop_border))
            used.append(f'NIQE, {os.path.basename(args.niqe_params)}')
        if args.brisque_params:
            metrics.append(dict(type='BRISQUE', params_file=args.brisque_params,
                                range_file=args.brisque_range, crop_border=args.crop_border))
            used.append(f'BRISQUE, {os.path.basename(os.path.normpath(args.brisque_params))}')
        label = f'no-reference ({"; ".join(used)})'
    else:
        metrics = [dict(type=t, protocol=args.protocol, crop_border=args.crop_border,
                        channels=args.channels) for t in ('PSNR', 'SSIM')]
        label = args.protocol + (' (RGB)' if args.channels == 'rgb' else '')
    try:
        report = evaluate_folder(
            args.results_dir, None if args.no_reference else args.gt_dir, metrics,
            pair_by=args.pair_by, result_template=args.result_template,
            gt_template=args.gt_template, skip_bad=args.skip_bad, progress=not args.no_progress,
            quantize=args.quantize, label=label)
        if args.out:
            write_report(report, args.out)
    except (FileNotFoundError, ValueError) as err:  # FolderEvalError is a ValueError
        # Missing folders, bad files, bad parameter files: the user's input (exit 2).
        print(f'eval_images: error: {err}', file=sys.stderr)
        return 2
    print(format_report(report))
    if args.out:
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
