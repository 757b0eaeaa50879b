"""Saved results (derained images already on disk, ours or another method's) paired with their
ground truths: the dataset tools/eval_images.py runs through the evaluator, so a folder is
scored by the same metric objects as tools/test.py and the benchmark."""
import os
from dataclasses import dataclass

from mmengine.dataset import BaseDataset

from restorelab.registry import DATASETS
from restorelab.utils.errors import FolderEvalError, ImageReadError
from restorelab.utils.image_io import imread_rgb
from .layout import FilenameTemplate, group_by_key, scan_images

PAIR_MODES = ('name', 'template', 'position')
# MATLAB's evaluate_PSNR_SSIM.m lists [dir('*.jpg'); dir('*.png')].
POSITION_EXTENSIONS = ('.jpg', '.png')


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
    """key -> file name for the files whose stem matches ``template`` (one stem per key)."""
    by_stem, clashes = group_by_key(names)
    for stem, files in clashes.items():
        if template.match(stem) is None:
            ignored.extend(os.path.join(folder, name) for name in files)
        else:
            problems.append(Problem(os.path.join(folder, files[0]),
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


def _matlab_dir_order(folder, names, ignored):
    listed = []
    for ext in POSITION_EXTENSIONS:
        listed += sorted(n for n in names if os.path.splitext(n)[1].lower() == ext)
    ignored += [os.path.join(folder, n) for n in names if n not in listed]
    return listed


def pair_folders(results_dir, gt_dir, pair_by='name', result_template='{}', gt_template='{}'):
    """Pair result files with ground-truth files.

    ``pair_by``: ``'name'``, the same file stem (``1.png`` with ``1.jpg``); ``'template'``, the
    stem of a result matches ``result_template`` and the ground truth's stem is ``gt_template``
    filled with the same part (``'{}_DR'`` / ``'{}_GT'`` pairs ``1_DR.png`` with ``1_GT.png``);
    ``'position'``, the i-th result with the i-th ground truth in MATLAB ``[dir('*.jpg');
    dir('*.png')]`` order (each extension sorted by name), as Restormer's ``evaluate_PSNR_SSIM.m``
    pairs them. Returns ``(pairs, problems, ignored)``: ``(key, result, gt)`` tuples sorted by
    key, a :class:`Problem` per file without a partner, the files the templates or extensions
    left out.
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
        results = _matlab_dir_order(results_dir, result_names, ignored)
        gts = _matlab_dir_order(gt_dir, gt_names, ignored)
        pairs = [(os.path.splitext(r)[0], os.path.join(results_dir, r), os.path.join(gt_dir, g))
                 for r, g in zip(results, gts)]
        counts = f'{results_dir!r} holds {len(results)} .jpg/.png files, {gt_dir!r} {len(gts)}'
        problems = [Problem(os.path.join(results_dir, r), f'result number {i + 1} has no ground '
                            f'truth at the same position: {counts}')
                    for i, r in enumerate(results) if i >= len(gts)]
        problems += [Problem(os.path.join(gt_dir, g), f'ground truth number {i + 1} has no '
                             f'result at the same position: {counts}')
                     for i, g in enumerate(gts) if i >= len(results)]
        return pairs, problems, sorted(ignored)
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
            pairs.append((key, os.path.join(results_dir, results[key]),
                          os.path.join(gt_dir, gts[key])))
        elif key in results:
            problems.append(Problem(os.path.join(results_dir, results[key]),
                                    f'no ground truth named {gt_tmpl.format(key)}.* in {gt_dir!r}'))
        else:
            problems.append(Problem(os.path.join(gt_dir, gts[key]),
                                    f'no result named {result_tmpl.format(key)}.* in {results_dir!r}'))
    if not pairs and not problems:
        raise FolderEvalError(
            f'no file in {results_dir!r} matches --result-template {result_template!r}'
            if pair_by == 'template' else f'no image pairs found in {results_dir!r}')
    return pairs, problems, sorted(ignored)


@DATASETS.register_module()
class SavedResultsDataset(BaseDataset):
    """Result files of ``results_dir`` paired with the ground truths of ``gt_dir`` (see
    :func:`pair_folders`), or alone (``gt_dir=None``, for no-reference metrics). A sample is
    ``dict(key, img_path, gt_path, pred_img, gt_img)`` with ``(3, H, W)`` uint8 or uint16
    images as the files hold them, what a restorer's test step gives the metrics (which bring
    16-bit results to 8 bits as their ``quantize`` says). Files without a partner are listed in
    ``problems``, files no template matches in ``ignored``; an unreadable file raises
    :class:`FolderEvalError` with ``path``, the file at fault, when its sample is read."""

    def __init__(self, results_dir, gt_dir=None, pair_by='name', result_template='{}',
                 gt_template='{}', **kwargs):
        self.results_dir, self.gt_dir = results_dir, gt_dir
        self.pairing = (pair_by, result_template, gt_template)
        self.problems, self.ignored = [], []
        super().__init__(serialize_data=False, test_mode=True, **kwargs)

    def load_data_list(self):
        if self.gt_dir is None:
            names = _image_files(self.results_dir, 'results')
            return [dict(key=os.path.splitext(n)[0], img_path=os.path.join(self.results_dir, n))
                    for n in names]
        pairs, self.problems, self.ignored = pair_folders(self.results_dir, self.gt_dir,
                                                          *self.pairing)
        return [dict(key=key, img_path=result, gt_path=gt) for key, result, gt in pairs]

    def prepare_data(self, idx):
        sample = dict(self.get_data_info(idx))
        for field, path in (('pred_img', sample['img_path']), ('gt_img', sample.get('gt_path'))):
            if path is None:
                continue
            try:
                sample[field] = imread_rgb(path).transpose(2, 0, 1)
            except ImageReadError as err:
                error = FolderEvalError(str(err))
                error.path = path
                raise error from err
        return sample
