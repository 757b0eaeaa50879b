"""Scoring a folder of saved results against a folder of ground truths.

Used by ``tools/eval_images.py`` and the benchmark tools. Work happens in
three steps so that bad input is found before anything is scored:
:func:`pair_folders` matches files, :func:`check_pairs` reads every pair and
checks it can be scored, :func:`score_pairs` computes the metrics. Without
``skip_bad`` the first problem raises :class:`FolderEvalError` listing every
problem found; with it the bad pairs are reported and left out.
"""
import os
from dataclasses import asdict, dataclass

import numpy as np
from mmengine.utils import ProgressBar

from restorelab.datasets.layout import FilenameTemplate, group_by_key, scan_images
from restorelab.utils.errors import FolderEvalError
from restorelab.utils.image_io import ImageReadError, imread_rgb

from .functional import (METRIC_NAMES, check_image_pair, check_protocol, check_quantize,
                         compute_metrics, quantize_image)
from .functional.brisque import brisque, load_brisque_params
from .functional.niqe import NIQE_BLOCK, load_niqe_params, niqe

PAIR_MODES = ('name', 'template', 'position')
# MATLAB's evaluate_PSNR_SSIM.m lists [dir('*.jpg'); dir('*.png')].
POSITION_EXTENSIONS = ('.jpg', '.png')


@dataclass
class ImagePair:
    """A result file, its ground-truth file and the key that names the pair."""
    key: str
    result: str
    gt: str


@dataclass
class Problem:
    """A file that cannot be scored, and why."""
    path: str
    reason: str


def _image_files(folder, role):
    if not os.path.isdir(folder):
        raise FolderEvalError(f'{role} folder {folder!r} does not exist or is not a folder')
    names, _ = scan_images(folder, recursive=False)
    if not names:
        raise FolderEvalError(f'{role} folder {folder!r} holds no image files')
    return names


def _template(template, option):
    try:
        return FilenameTemplate(template, allow_wildcard=False)
    except ValueError:
        raise FolderEvalError(
            f'{option} {template!r} must contain exactly one "{{}}" standing for the shared '
            "part of the file names, e.g. '{}_GT' for 1_GT.png") from None


def _index_by_key(folder, names, template, role, problems, ignored):
    """Map key -> file name for the files whose stem matches ``template`` (the dataset's
    pairing helpers: one stem per key, the extension ignored)."""
    by_stem, clashes = group_by_key(names)
    for stem, files in clashes.items():
        if template.match(stem) is None:
            ignored.extend(os.path.join(folder, name) for name in files)
        else:
            problems.append(Problem(
                os.path.join(folder, files[0]),
                f'{role} files {files} in {folder!r} share the name {stem!r}; '
                'keep one of them (pairing is by name, not extension)'))
    by_key = {}
    for stem, name in by_stem.items():
        key = template.match(stem)
        if key is None:
            ignored.append(os.path.join(folder, name))
        else:
            by_key[key] = name
    return by_key


def pair_folders(results_dir, gt_dir, pair_by='name', result_template='{}', gt_template='{}'):
    """Pair result files with ground-truth files.

    Args:
        pair_by: ``'name'``: same file stem (``1.png`` with ``1.jpg``);
            ``'template'``: the stem of a result matches ``result_template``
            and the ground truth's stem is ``gt_template`` filled with the
            same part (``'{}_DR'`` / ``'{}_GT'`` pairs ``1_DR.png`` with
            ``1_GT.png``); ``'position'``: the i-th result with the i-th
            ground truth in MATLAB ``[dir('*.jpg'); dir('*.png')]`` order
            (each extension sorted by name), as Restormer's
            ``evaluate_PSNR_SSIM.m`` pairs them.
    Returns:
        ``(pairs, problems, ignored)``: the :class:`ImagePair` list sorted by
        key, a :class:`Problem` per file without a partner, and the files the
        templates or extensions left out.
    """
    if pair_by not in PAIR_MODES:
        raise FolderEvalError(f'pair_by must be one of {PAIR_MODES}, got {pair_by!r}')
    if pair_by != 'template' and (result_template, gt_template) != ('{}', '{}'):
        raise FolderEvalError(
            f'file name templates ({result_template!r}, {gt_template!r}) need pair_by="template" '
            f'(got pair_by={pair_by!r})')
    result_names = _image_files(results_dir, 'results')
    gt_names = _image_files(gt_dir, 'ground-truth')
    problems, ignored = [], []
    if pair_by == 'position':
        return _pair_by_position(results_dir, gt_dir, result_names, gt_names)
    result_tmpl = _template(result_template, '--result-template')
    gt_tmpl = _template(gt_template, '--gt-template')
    results = _index_by_key(results_dir, result_names, result_tmpl, 'result', problems, ignored)
    gts = _index_by_key(gt_dir, gt_names, gt_tmpl, 'ground-truth', problems, ignored)
    if os.path.abspath(results_dir) == os.path.abspath(gt_dir):
        # One folder holding both: a file taken by one side is not "ignored" by the other.
        taken = {os.path.join(results_dir, n) for n in list(results.values()) + list(gts.values())}
        ignored = [p for p in ignored if p not in taken]
    pairs = []
    for key in sorted(set(results) | set(gts)):
        if key in results and key in gts:
            pairs.append(ImagePair(key, os.path.join(results_dir, results[key]),
                                   os.path.join(gt_dir, gts[key])))
        elif key in results:
            expected = gt_tmpl.format(key)
            problems.append(Problem(
                os.path.join(results_dir, results[key]),
                f'no ground truth named {expected}.* in {gt_dir!r}'))
        else:
            expected = result_tmpl.format(key)
            problems.append(Problem(
                os.path.join(gt_dir, gts[key]), f'no result named {expected}.* in {results_dir!r}'))
    if not pairs and not problems:
        raise FolderEvalError(
            f'no file in {results_dir!r} matches --result-template {result_template!r}'
            if pair_by == 'template' else f'no image pairs found in {results_dir!r}')
    return pairs, problems, sorted(ignored)


def _matlab_dir_order(folder, names, ignored):
    listed = []
    for ext in POSITION_EXTENSIONS:
        listed += sorted(n for n in names if os.path.splitext(n)[1].lower() == ext)
    ignored += [os.path.join(folder, n) for n in names if n not in listed]
    return listed


def _pair_by_position(results_dir, gt_dir, result_names, gt_names):
    ignored = []
    results = _matlab_dir_order(results_dir, result_names, ignored)
    gts = _matlab_dir_order(gt_dir, gt_names, ignored)
    pairs = [ImagePair(os.path.splitext(r)[0], os.path.join(results_dir, r),
                       os.path.join(gt_dir, g)) for r, g in zip(results, gts)]
    problems = [Problem(os.path.join(results_dir, r),
                        f'result number {i + 1} has no ground truth at the same position: '
                        f'{gt_dir!r} holds {len(gts)} .jpg/.png files, {results_dir!r} {len(results)}')
                for i, r in enumerate(results[len(gts):], start=len(gts))]
    problems += [Problem(os.path.join(gt_dir, g),
                         f'ground truth number {i + 1} has no result at the same position: '
                         f'{results_dir!r} holds {len(results)} .jpg/.png files, {gt_dir!r} {len(gts)}')
                 for i, g in enumerate(gts[len(results):], start=len(results))]
    return pairs, problems, sorted(ignored)


def _read_8bit(path, quantize=None):
    """An 8-bit RGB image; a 16-bit one is quantised to 8 bits when ``quantize`` says how
    ('round' or 'truncate'; results only: ground truths must be 8-bit files)."""
    img = imread_rgb(path)
    if img.dtype == np.uint16 and quantize is not None:
        return quantize_image(img.astype(np.float64) / 65535, 8, quantize)
    if img.dtype != np.uint8:
        hint = (' (or pass --quantize round|truncate to score 16-bit results at 8 bits)'
                if quantize is None and img.dtype == np.uint16 else '')
        raise ImageReadError(
            f'{path!r} is a {img.dtype.itemsize * 8}-bit image; the protocols score 8-bit images '
            f'as the MATLAB scripts read them: save 8-bit results and ground truths{hint}')
    return img


def _read_pair(pair, protocol, crop_border, quantize=None):
    """Read and check one pair; errors carry the path of the file at fault."""
    images = []
    for path, mode in ((pair.result, quantize), (pair.gt, None)):
        try:
            images.append(_read_8bit(path, mode))
        except ImageReadError as err:
            raise _PairError(path, str(err)) from err
    try:
        check_image_pair(*images, protocol, crop_border, names=(pair.result, pair.gt))
    except (ValueError, TypeError) as err:
        raise _PairError(pair.result, str(err)) from err
    return images


class _PairError(Exception):

    def __init__(self, path, reason):
        super().__init__(reason)
        self.problem = Problem(path, reason)


def _progress(items, show, what):
    if not show or not items:
        return items, None
    print(what)
    return items, ProgressBar(len(items))


def _finish(bar):
    if bar:
        bar.file.write('\n')
        bar.file.flush()


def check_pairs(pairs, protocol, crop_border=0, progress=False, quantize=None):
    """Read every pair and check it can be scored; returns ``(good_pairs, problems)``."""
    good, problems = [], []
    items, bar = _progress(pairs, progress, f'checking {len(pairs)} image pairs')
    for pair in items:
        try:
            _read_pair(pair, protocol, crop_border, quantize)
        except _PairError as err:
            problems.append(err.problem)
        else:
            good.append(pair)
        if bar:
            bar.update()
    _finish(bar)
    return good, problems


def score_pairs(pairs, protocol, crop_border=0, metrics=METRIC_NAMES, progress=False,
                quantize=None):
    """Score checked pairs; returns one dict per pair: key, result, gt and the metrics."""
    records = []
    items, bar = _progress(pairs, progress, f'scoring {len(pairs)} images ({protocol} protocol)')
    for pair in items:
        pred, gt = _read_pair(pair, protocol, crop_border, quantize)
        values = compute_metrics(pred, gt, protocol, crop_border, metrics,
                                 names=(pair.result, pair.gt))
        records.append({**asdict(pair), **values})
        if bar:
            bar.update()
    _finish(bar)
    return records


def evaluate_folders(results_dir, gt_dir, protocol, pair_by='name', result_template='{}',
                     gt_template='{}', crop_border=0, skip_bad=False, metrics=METRIC_NAMES,
                     progress=False, quantize=None):
    """Pair, check and score two folders; returns the report dict.

    8-bit files are scored as they are. 16-bit result files are an error unless
    ``quantize`` ('round' or 'truncate') says how to bring them to 8 bits.

    The report holds ``protocol``, ``crop_border``, the folders, ``pair_by``,
    ``images`` (per-image records), ``mean`` (per metric, over the scored
    images), ``skipped`` (problems, with ``skip_bad``) and ``ignored`` files.

    Raises:
        FolderEvalError: listing every missing partner, unreadable file and
            size mismatch, before anything is scored, unless ``skip_bad``.
    """
    check_protocol(protocol, crop_border)
    if quantize is not None:
        check_quantize(quantize)
    pairs, problems, ignored = pair_folders(results_dir, gt_dir, pair_by, result_template,
                                            gt_template)
    bad_files = {p.path for p in problems}
    pairs = [p for p in pairs if p.result not in bad_files and p.gt not in bad_files]
    pairs, read_problems = check_pairs(pairs, protocol, crop_border, progress, quantize)
    problems += read_problems
    if problems and not skip_bad:
        lines = '\n'.join(f'  {p.path}: {p.reason}' for p in problems)
        raise FolderEvalError(
            f'{len(problems)} problem(s) found, nothing was scored:\n{lines}\n'
            'Fix the files, or pass --skip-bad (skip_bad=True) to score the remaining pairs and '
            'list these as skipped.')
    if not pairs:
        raise FolderEvalError(f'no scorable image pairs left in {results_dir!r} / {gt_dir!r}')
    records = score_pairs(pairs, protocol, crop_border, metrics, progress, quantize)
    mean = {m: float(np.mean([r[m] for r in records])) for m in metrics}
    return dict(protocol=protocol, crop_border=crop_border, quantize=quantize,
                results_dir=results_dir,
                gt_dir=gt_dir, pair_by=pair_by, num_images=len(records), mean=mean,
                images=records, skipped=[asdict(p) for p in problems], ignored=ignored)


def evaluate_no_reference(results_dir, niqe_params=None, convert_to='y', crop_border=0,
                          skip_bad=False, progress=False, brisque_params=None,
                          brisque_range=None, brisque_convert_to='gray', quantize=None):
    """NIQE and/or BRISQUE of every image in ``results_dir`` (real rain, no ground truth).

    Args:
        niqe_params: NIQE pristine model file (see ``functional.niqe``), or None.
        convert_to: NIQE's luma ('y' or 'gray').
        brisque_params: BRISQUE model (release folder, ``allmodel`` or .npz;
            see ``functional.brisque``), or None; ``brisque_range`` its range
            file when not beside it; ``brisque_convert_to`` its luma.
    Returns:
        The report dict; ``mean`` and each image record hold ``niqe`` and/or
        ``brisque``.

    Every file is read and checked before any is scored; unreadable, 16-bit or
    too small images raise :class:`FolderEvalError` unless ``skip_bad``. An
    image BRISQUE cannot score (flat) is found while scoring and raises the
    same way before any report is made.
    """
    if niqe_params is None and brisque_params is None:
        raise FolderEvalError('no-reference scoring needs NIQE parameters, BRISQUE parameters '
                              'or both (--niqe-params / --brisque-params)')
    if quantize is not None:
        check_quantize(quantize)
    mu_cov = load_niqe_params(niqe_params) if niqe_params is not None else None
    brisque_model = (load_brisque_params(brisque_params, brisque_range)
                     if brisque_params is not None else None)
    names = _image_files(results_dir, 'results')
    paths = [os.path.join(results_dir, n) for n in names]
    good, problems = [], []
    items, bar = _progress(paths, progress, f'checking {len(paths)} images')
    for path in items:
        try:
            h, w = _read_8bit(path, quantize).shape[:2]
            if mu_cov is not None and min(h, w) - 2 * crop_border < NIQE_BLOCK:
                raise ValueError(f'{path!r} is {h}x{w}; NIQE needs at least {NIQE_BLOCK}x'
                                 f'{NIQE_BLOCK} pixels after crop_border={crop_border}')
            if min(h, w) - 2 * crop_border < 1:
                raise ValueError(f'{path!r} is {h}x{w}: nothing is left after '
                                 f'crop_border={crop_border}')
            good.append(path)
        except (ImageReadError, ValueError) as err:
            problems.append(Problem(path, str(err)))
        if bar:
            bar.update()
    _finish(bar)
    _raise_problems(problems, skip_bad, 'nothing was scored')
    if not good:
        raise FolderEvalError(f'no scorable images in {results_dir!r}')
    metrics = (['niqe'] if mu_cov is not None else []) + \
        (['brisque'] if brisque_model is not None else [])
    records = []
    items, bar = _progress(good, progress, f'scoring {len(good)} images ({", ".join(metrics)})')
    for path in items:
        img = _read_8bit(path, quantize)
        record = dict(key=os.path.splitext(os.path.basename(path))[0], result=path)
        if mu_cov is not None:
            record['niqe'] = niqe(img, *mu_cov, convert_to, crop_border)
        try:
            if brisque_model is not None:
                record['brisque'] = brisque(img, brisque_model, brisque_convert_to, crop_border)
        except ValueError as err:
            problems.append(Problem(path, f'BRISQUE: {err}'))
        else:
            records.append(record)
        if bar:
            bar.update()
    _finish(bar)
    _raise_problems(problems, skip_bad, 'no report was made')
    if not records:
        raise FolderEvalError(f'no scorable images in {results_dir!r}')
    used = [f'NIQE, {os.path.basename(niqe_params)}'] if mu_cov is not None else []
    if brisque_model is not None:
        used.append(f'BRISQUE, {os.path.basename(os.path.normpath(brisque_params))}')
    return dict(protocol=f'no-reference ({"; ".join(used)})',
                crop_border=crop_border, quantize=quantize, results_dir=results_dir, num_images=len(records),
                mean={m: float(np.mean([r[m] for r in records])) for m in metrics},
                images=records, skipped=[asdict(p) for p in problems], ignored=[])


def _raise_problems(problems, skip_bad, outcome):
    if problems and not skip_bad:
        lines = '\n'.join(f'  {p.path}: {p.reason}' for p in problems)
        raise FolderEvalError(f'{len(problems)} problem(s) found, {outcome}:\n{lines}\n'
                              'Fix the files, or pass --skip-bad to score the rest.')
