"""Scoring a folder of saved results: a :class:`~restorelab.datasets.SavedResultsDataset` run
through mmengine's Evaluator with the metric objects every other path uses (PSNR/SSIM under a
protocol against ground truths, or NIQE/BRISQUE without). Used by ``tools/eval_images.py``.

Bad input is found before anything is scored: every file is read and checked first, and
without ``skip_bad`` the problems raise one :class:`FolderEvalError` listing them all; with it
the bad files are reported and left out.
"""
from dataclasses import asdict

import numpy as np
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.utils import track_iter_progress

from restorelab.datasets.saved_results import PAIR_MODES, Problem, SavedResultsDataset
from restorelab.registry import METRICS
from restorelab.utils.errors import FolderEvalError

__all__ = ['PAIR_MODES', 'evaluate_folder']


def _raise(problems, skip_bad, outcome):
    if problems and not skip_bad:
        lines = '\n'.join(f'  {p.path}: {p.reason}' for p in problems)
        raise FolderEvalError(f'{len(problems)} problem(s) found, {outcome}:\n{lines}\n'
                              'Fix the files, or pass --skip-bad (skip_bad=True) to score the '
                              'remaining ones and list these as skipped.')


def _check(sample, quantize):
    """What holds for every metric: 8-bit files as the MATLAB scripts read them (a 16-bit
    result only with ``quantize`` saying how to bring it to 8 bits), and a result the size of
    its ground truth."""
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
    if 'gt_img' in sample and sample['pred_img'].shape != sample['gt_img'].shape:
        (_, h, w), (_, gh, gw) = sample['pred_img'].shape, sample['gt_img'].shape
        raise FolderEvalError(f'image sizes differ: result {sample["img_path"]} ({h}x{w}) vs '
                              f'ground truth {sample["gt_path"]} ({gh}x{gw}) (height x width); '
                              'metrics compare images of the same size')


def evaluate_folder(results_dir, gt_dir, metrics, pair_by='name', result_template='{}',
                    gt_template='{}', skip_bad=False, progress=False, quantize=None, label=None):
    """Score the results in ``results_dir`` against their ground truths in ``gt_dir`` (None:
    alone, for no-reference metrics) with ``metrics``, a list of metric configs
    (``dict(type='PSNR', protocol='restormer')``, ``dict(type='NIQE', params_file=...)``).

    Files pair as :func:`~restorelab.datasets.saved_results.pair_folders` says. 8-bit files are
    scored as they are; 16-bit results only with ``quantize`` ('round' or 'truncate'). Returns
    the report: ``protocol`` (``label``), ``quantize``, the folders, ``pair_by``, ``images``
    (per-image records), ``mean`` (per metric), ``skipped`` (problems, with ``skip_bad``) and
    ``ignored`` files.

    Raises:
        FolderEvalError: listing every missing partner, unreadable file and size mismatch
            before anything is scored, and every image a metric cannot score (too small, flat)
            before any report is made, unless ``skip_bad``.
    """
    with DefaultScope.overwrite_default_scope('restorelab'):
        metrics = [METRICS.build(dict(cfg, quantize=quantize or 'round')) for cfg in metrics]
    dataset = SavedResultsDataset(results_dir, gt_dir, pair_by, result_template, gt_template)
    problems = list(dataset.problems)
    bad, good = {p.path for p in problems}, []
    for i in _each(range(len(dataset)), progress, f'checking {len(dataset)} images'):
        info = dataset.get_data_info(i)
        if info['img_path'] not in bad and info.get('gt_path') not in bad:
            try:
                _check(dataset[i], quantize)
                good.append(i)
            except FolderEvalError as err:
                problems.append(Problem(getattr(err, 'path', info['img_path']), str(err)))
    _raise(problems, skip_bad, 'nothing was scored')
    evaluator, scored = Evaluator(metrics), []
    for i in _each(good, progress, f'scoring {len(good)} images'):
        sample, kept = dataset[i], [len(m.results) for m in metrics]
        try:
            evaluator.process([sample])
            scored.append(sample)
        except ValueError as err:  # an image a metric cannot score: found while scoring
            for metric, n in zip(metrics, kept):
                del metric.results[n:]
            problems.append(Problem(sample['img_path'], str(err)))
    _raise(problems, skip_bad, 'no report was made')
    if not scored:
        raise FolderEvalError(f'no scorable images in {results_dir!r}')
    mean = {k.split('/')[-1]: v for k, v in evaluator.evaluate(len(scored)).items()}
    images = [dict(key=s['key'], result=s['img_path'], **({'gt': s['gt_path']} if gt_dir else {}))
              for s in scored]
    for metric in metrics:
        for record, value in zip(images, metric.per_image):
            record[metric.name] = value[metric.name]
    return dict(protocol=label, quantize=quantize, results_dir=results_dir, gt_dir=gt_dir,
                pair_by=pair_by, num_images=len(images), mean=mean, images=images,
                skipped=[asdict(p) for p in problems], ignored=dataset.ignored)


def _each(items, show, what):
    """``items``, with a progress bar under ``what`` when ``show``."""
    if show and items:
        print(what)
        return track_iter_progress(list(items))
    return items
