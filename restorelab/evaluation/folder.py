"""Scoring a folder of saved results: a :class:`~restorelab.datasets.SavedResultsDataset` run
through mmengine's Evaluator with the metric objects every other path uses (PSNR/SSIM under a
protocol, or NIQE/BRISQUE without ground truth).

Used by ``tools/eval_images.py``. Bad input is found before anything is scored: every file
is read and checked first, and without ``skip_bad`` the problems raise one
:class:`FolderEvalError` listing them all; with it the bad files are reported and left out.
"""
import os
from dataclasses import asdict

import numpy as np

from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.utils import track_iter_progress

from restorelab.datasets.saved_results import PAIR_MODES, Problem, SavedResultsDataset
from restorelab.registry import METRICS
from restorelab.utils.errors import FolderEvalError

from .functional import check_image_pair, check_protocol, check_quantize
from .functional.niqe import NIQE_BLOCK

__all__ = ['PAIR_MODES', 'evaluate_folders', 'evaluate_no_reference']


def _each(items, show, what):
    """``items``, with a progress bar under ``what`` when ``show``."""
    if show and items:
        print(what)
        return track_iter_progress(list(items))
    return items


def _raise(problems, skip_bad, outcome):
    if problems and not skip_bad:
        lines = '\n'.join(f'  {p.path}: {p.reason}' for p in problems)
        raise FolderEvalError(f'{len(problems)} problem(s) found, {outcome}:\n{lines}\n'
                              'Fix the files, or pass --skip-bad (skip_bad=True) to score the '
                              'remaining ones and list these as skipped.')


def _bit_depths(sample, quantize):
    """The protocols score 8-bit images as the MATLAB scripts read them: a 16-bit result is
    scored only when ``quantize`` says how to bring it to 8 bits, a 16-bit ground truth never."""
    for field, path in (('pred_img', 'img_path'), ('gt_img', 'gt_path')):
        img = sample.get(field)
        if img is not None and img.dtype != np.uint8 and not (field == 'pred_img' and quantize):
            hint = (' (or pass --quantize round|truncate to score 16-bit results at 8 bits)'
                    if field == 'pred_img' else '')
            error = FolderEvalError(
                f'{sample[path]!r} is a {img.dtype.itemsize * 8}-bit image; the protocols score '
                f'8-bit images as the MATLAB scripts read them: save 8-bit results and ground '
                f'truths{hint}')
            error.path = sample[path]
            raise error


def _score(dataset, metric_cfgs, check, skip_bad, progress):
    """Check every sample of ``dataset`` with ``check(sample)``, then run the good ones through
    an Evaluator of ``metric_cfgs``; returns ``(mean, images, problems)``."""
    with DefaultScope.overwrite_default_scope('restorelab'):
        metrics = [METRICS.build(cfg) for cfg in metric_cfgs]
    problems = list(dataset.problems)
    bad = {p.path for p in problems}
    good = []
    for i in _each(range(len(dataset)), progress, f'checking {len(dataset)} images'):
        info = dataset.get_data_info(i)
        if info['img_path'] not in bad and info.get('gt_path') not in bad:
            try:
                check(dataset[i])
                good.append(i)
            except (FolderEvalError, ValueError, TypeError) as err:
                problems.append(Problem(getattr(err, 'path', info['img_path']), str(err)))
    _raise(problems, skip_bad, 'nothing was scored')
    evaluator, scored = Evaluator(metrics), []
    for i in _each(good, progress, f'scoring {len(good)} images'):
        sample, kept = dataset[i], [len(m.results) for m in metrics]
        try:
            evaluator.process([sample])
            scored.append(sample)
        except ValueError as err:  # e.g. BRISQUE of a flat image: found while scoring
            for metric, n in zip(metrics, kept):
                del metric.results[n:]
            problems.append(Problem(sample['img_path'], str(err)))
    _raise(problems, skip_bad, 'no report was made')
    if not scored:
        raise FolderEvalError(f'no scorable images in {dataset.results_dir!r}')
    mean = {k.split('/')[-1]: v for k, v in evaluator.evaluate(len(scored)).items()}
    images = [dict(key=s['key'], result=s['img_path'], **({'gt': s['gt_path']} if 'gt_path' in s
                                                           else {})) for s in scored]
    for metric in metrics:
        for record, value in zip(images, metric.per_image):
            record[metric.name] = value[metric.name]
    return mean, images, [asdict(p) for p in problems]


def evaluate_folders(results_dir, gt_dir, protocol, pair_by='name', result_template='{}',
                     gt_template='{}', crop_border=0, skip_bad=False, progress=False,
                     quantize=None, channels='y'):
    """PSNR and SSIM (the ``PSNR``/``SSIM`` metrics under ``protocol``) of every result in
    ``results_dir`` against its ground truth in ``gt_dir``; returns the report dict.

    8-bit files are scored as they are; 16-bit results are an error unless ``quantize``
    ('round' or 'truncate') says how to bring them to 8 bits. The report holds ``protocol``,
    ``crop_border``, ``quantize``, the folders, ``pair_by``, ``images`` (per-image records),
    ``mean`` (per metric), ``skipped`` (problems, with ``skip_bad``) and ``ignored`` files.

    Raises:
        FolderEvalError: listing every missing partner, unreadable file and size mismatch,
            before anything is scored, unless ``skip_bad``.
    """
    check_protocol(protocol, crop_border)
    if quantize is not None:
        check_quantize(quantize)
    dataset = SavedResultsDataset(results_dir, gt_dir, pair_by, result_template, gt_template)

    def check(sample):
        _bit_depths(sample, quantize)
        # Sizes only (the scores come from the metrics): stand-ins of the images' shapes.
        pred, gt = (np.zeros((*sample[k].shape[1:], 3), np.uint8) for k in ('pred_img', 'gt_img'))
        check_image_pair(pred, gt, protocol, crop_border, names=(sample['img_path'],
                                                                 sample['gt_path']))

    metric_cfgs = [dict(type=t, protocol=protocol, crop_border=crop_border, channels=channels,
                        quantize=quantize or 'round') for t in ('PSNR', 'SSIM')]
    mean, images, skipped = _score(dataset, metric_cfgs, check, skip_bad, progress)
    return dict(protocol=protocol, crop_border=crop_border, quantize=quantize,
                results_dir=results_dir, gt_dir=gt_dir, pair_by=pair_by, num_images=len(images),
                mean=mean, images=images, skipped=skipped, ignored=dataset.ignored)


def evaluate_no_reference(results_dir, niqe_params=None, convert_to='y', crop_border=0,
                          skip_bad=False, progress=False, brisque_params=None,
                          brisque_range=None, brisque_convert_to='gray', quantize=None):
    """NIQE and/or BRISQUE (the ``NIQE``/``BRISQUE`` metrics) of every image in ``results_dir``
    (real rain, no ground truth): ``niqe_params`` the NIQE pristine model, ``convert_to`` its
    luma; ``brisque_params`` the BRISQUE model (``brisque_range`` its range file when not beside
    it, ``brisque_convert_to`` its luma). Returns the report dict; unreadable, 16-bit or too
    small images, and images BRISQUE cannot score (flat), raise :class:`FolderEvalError`
    unless ``skip_bad``."""
    if niqe_params is None and brisque_params is None:
        raise FolderEvalError('no-reference scoring needs NIQE parameters, BRISQUE parameters '
                              'or both (--niqe-params / --brisque-params)')
    if quantize is not None:
        check_quantize(quantize)
    metric_cfgs, used = [], []
    if niqe_params is not None:
        metric_cfgs.append(dict(type='NIQE', params_file=niqe_params, convert_to=convert_to,
                                crop_border=crop_border, quantize=quantize or 'round'))
        used.append(f'NIQE, {os.path.basename(niqe_params)}')
    if brisque_params is not None:
        metric_cfgs.append(dict(type='BRISQUE', params_file=brisque_params,
                                range_file=brisque_range, convert_to=brisque_convert_to,
                                crop_border=crop_border, quantize=quantize or 'round'))
        used.append(f'BRISQUE, {os.path.basename(os.path.normpath(brisque_params))}')

    def check(sample):
        _bit_depths(sample, quantize)
        h, w = sample['pred_img'].shape[1:]
        need = NIQE_BLOCK if niqe_params is not None else 1
        if min(h, w) - 2 * crop_border < need:
            raise ValueError(f'{sample["img_path"]!r} is {h}x{w}; ' + (
                f'NIQE needs at least {NIQE_BLOCK}x{NIQE_BLOCK} pixels' if need > 1 else
                'nothing is left') + f' after crop_border={crop_border}')

    dataset = SavedResultsDataset(results_dir, None)
    mean, images, skipped = _score(dataset, metric_cfgs, check, skip_bad, progress)
    return dict(protocol=f'no-reference ({"; ".join(used)})', crop_border=crop_border,
                quantize=quantize, results_dir=results_dir, num_images=len(images), mean=mean,
                images=images, skipped=skipped, ignored=[])
