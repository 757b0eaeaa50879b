"""Pairs of rainy and clean images, matched by file name in the layouts deraining sets ship in."""
import logging
import os
import posixpath

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from restorelab.registry import DATASETS, SCOPE
from restorelab.utils.image_io import ImageReadError
from .layout import (DatasetLayoutError, FilenameTemplate, check_folder, format_examples,
                     index_by_key, natural_key, split_key)

SIDE_BY_SIDE_MODES = ('rain_left', 'rain_right')
ON_UNREADABLE = ('stop', 'skip')


LAYOUT_KEYS = ('data_prefix', 'filename_tmpl', 'ann_file', 'side_by_side')


def select_layout(layout, layouts, explicit, owner='PairedImageDataset'):
    """The layout arguments named ``layout`` in ``layouts`` (see PairedImageDataset).

    ``explicit`` holds the layout arguments given directly; any that is set is an error
    beside ``layouts``. An unknown name is an error listing the names and what each reads.
    """
    if not isinstance(layouts, dict) or not layouts:
        raise DatasetLayoutError(
            f"{owner}: layout={layout!r} needs layouts=dict(<name>=dict(data_prefix=..., "
            f"filename_tmpl=...), ...) listing the copies of the set; got layouts={layouts!r}")
    given = sorted(k for k, v in explicit.items() if v not in (None, '', {}))
    if given:
        raise DatasetLayoutError(
            f'{owner}: {", ".join(given)} given beside layouts={sorted(layouts)}; pick a '
            f'listed copy with layout=<name>, or drop layouts and give the folders directly')
    name = next(iter(layouts)) if layout is None else layout
    if name not in layouts:
        listed = '; '.join(f'{k}: {_describe_layout(v)}' for k, v in layouts.items())
        raise DatasetLayoutError(f'{owner}: unknown layout {name!r}; this set lists {listed}')
    chosen = layouts[name]
    unknown = sorted(set(chosen) - set(LAYOUT_KEYS)) if isinstance(chosen, dict) else None
    if unknown is None or unknown:
        raise DatasetLayoutError(f'{owner}: layouts[{name!r}] must be a dict of '
                                 f'{LAYOUT_KEYS}; got {chosen!r}')
    return dict(chosen)


def _describe_layout(spec):
    if not isinstance(spec, dict):
        return repr(spec)
    prefix = spec.get('data_prefix') or {}
    text = ', '.join(f'{k}={v!r}' for k, v in prefix.items())
    tmpl = spec.get('filename_tmpl')
    if tmpl:
        text += f" named {tmpl.get('img', '{}')!r} -> {tmpl.get('gt', '{}')!r}"
    if spec.get('ann_file'):
        text += f" from {spec['ann_file']!r}"
    return text or 'defaults'


@DATASETS.register_module()
class PairedImageDataset(BaseDataset):
    """Rainy/clean image pairs; every pair is found by name, never by sorted position.

    Four layouts (pick with the arguments; paths are relative to ``data_root``):

    * **same names** (Rain200L/H): ``data_prefix=dict(img='train/input', gt='train/target')``;
      ``input/1.png`` pairs with ``target/1.png``.
    * **filename template** (Rain100L/H): ``filename_tmpl=dict(img='rain-{}', gt='norain-{}')``;
      ``rain/rain-001.png`` pairs with ``norain/norain-001.png``. ``'{}'`` is the part the
      two names share. Both prefixes may name the same folder (PReNet's ``RainTrainH``
      holds ``rain-1.png`` and ``norain-1.png`` side by side): then the files fitting the
      rainy template are the rainy images and all others are ground truths.
    * **many rainy per clean** (DDN-Data / Rain1400): ``filename_tmpl=dict(img='{}_*', gt='{}')``;
      ``rainy_image/901_1.jpg`` ... ``901_14.jpg`` all pair with ``ground_truth/901.jpg``.
      ``'*'`` (rainy side only) stands for any non-empty text.
    * **annotation file** (SPA-Data): ``ann_file='real_test_1000.txt'``, one pair per line,
      ``rain_path gt_path`` separated by white space, relative to ``data_root`` (joined with
      ``data_prefix['img']`` / ``['gt']`` when those are given). A leading ``/`` or ``./`` is
      read relative to it (SPA-Data's lists write ``/real_test_1000/rain/...``) unless the
      path is absolute and exists. Blank lines and lines starting with ``#`` are skipped.
    * **side by side** (DID-MDN's original release): ``side_by_side='rain_left'``; each file
      in ``data_prefix['img']`` holds the rainy image in its left half and the clean one
      in its right half; ``LoadImageFromFile`` cuts the halves.

    Folders are scanned recursively (hidden entries skipped) and templates apply to the
    file stem within the same sub-folder. Extensions are ignored when pairing
    (``input/1.jpg`` pairs with ``target/1.png``); two files with one stem in a folder are an
    error, as the pairing would be ambiguous.

    An image that cannot be read during training (corrupt or truncated file) stops the run
    with an error naming it (``on_unreadable='stop'``, the default). With
    ``on_unreadable='skip'`` a training sample whose file cannot be read is skipped: a
    warning names the file and the number skipped so far (counted per loader process), the
    index is not tried again, and another sample is drawn in its place (mmengine's
    refetch), so no loader worker dies. Testing (``test_mode``) always stops: every test
    image must be scored.

    **Named layouts**: a set that is shared in several copies (Rain100L/H: JORDER's
    ``rain/rain-001.png`` names, and copies with ``input/1.png`` / ``target/1.png``) lists
    them as ``layouts=dict(<name>=dict(data_prefix=..., filename_tmpl=...), ...)`` and picks
    one with ``layout='<name>'`` (default: the first listed), so a user switches copies with
    one option (``--cfg-options test_dataloader.dataset.layout=numbered``) instead of a
    second config. A layout takes the keys ``data_prefix``, ``filename_tmpl``, ``ann_file``
    and ``side_by_side``; giving them beside ``layouts`` as well is an error (which would win
    is not obvious).

    Each data info holds ``img_path``, ``gt_path`` and ``key`` (the rainy file's path relative
    to its folder, without extension: unique, used to name saved results). Pairs are listed
    in natural order of their keys (``2`` before ``10``).

    Raises:
        DatasetLayoutError: at construction, when a folder or the annotation file is missing,
            a folder holds no images, a rainy image has no ground truth, a ground truth is the
            partner of no rainy image (unless ``allow_unused_gt=True``), or names are ambiguous.
            The message names the path, the expected layout, the counts and the first names.
    """

    def __init__(self,
                 data_root='',
                 data_prefix=None,
                 ann_file='',
                 filename_tmpl=None,
                 side_by_side=None,
                 allow_unused_gt=False,
                 on_unreadable='stop',
                 layout=None,
                 layouts=None,
                 pipeline=(),
                 test_mode=False,
                 **kwargs):
        if layouts is not None or layout is not None:
            explicit = dict(data_prefix=data_prefix, ann_file=ann_file,
                            filename_tmpl=filename_tmpl, side_by_side=side_by_side)
            chosen = select_layout(layout, layouts, explicit, type(self).__name__)
            data_prefix = chosen.get('data_prefix')
            ann_file = chosen.get('ann_file', '')
            filename_tmpl = chosen.get('filename_tmpl')
            side_by_side = chosen.get('side_by_side')
        if data_prefix is None:
            if ann_file:
                data_prefix = dict(img='', gt='')
            elif side_by_side:
                data_prefix = dict(img='')
            else:
                data_prefix = dict(img='input', gt='target')
        data_prefix = dict(data_prefix)
        unknown = set(data_prefix) - {'img', 'gt'}
        if unknown:
            raise ValueError(f'PairedImageDataset: data_prefix keys must be img and gt, got '
                             f'{sorted(unknown)} in {data_prefix}')
        filename_tmpl = {'img': '{}', 'gt': '{}', **(filename_tmpl or {})}
        if set(filename_tmpl) != {'img', 'gt'}:
            raise ValueError(f'PairedImageDataset: filename_tmpl keys must be img and gt, got '
                             f'{sorted(filename_tmpl)}')
        if side_by_side is not None and side_by_side not in SIDE_BY_SIDE_MODES:
            raise ValueError(f'PairedImageDataset: side_by_side must be one of '
                             f'{SIDE_BY_SIDE_MODES} or None, got {side_by_side!r}')
        if side_by_side and ann_file:
            raise ValueError('PairedImageDataset: side_by_side and ann_file exclude each other')
        if side_by_side:
            data_prefix.setdefault('img', '')
            if data_prefix.get('gt'):
                raise ValueError('PairedImageDataset: with side_by_side each file holds both '
                                 f"images; drop data_prefix['gt'] ({data_prefix['gt']!r})")
            data_prefix.pop('gt', None)
        elif ann_file:
            data_prefix.setdefault('img', '')
            data_prefix.setdefault('gt', '')
        elif 'img' not in data_prefix or 'gt' not in data_prefix:
            raise ValueError('PairedImageDataset: data_prefix needs both img and gt folders, '
                             f'e.g. dict(img="train/input", gt="train/target"); got {data_prefix}')
        self.img_tmpl = FilenameTemplate(filename_tmpl['img'], allow_wildcard=True)
        self.gt_tmpl = FilenameTemplate(filename_tmpl['gt'], allow_wildcard=False)
        if on_unreadable not in ON_UNREADABLE:
            raise ValueError(f'PairedImageDataset: on_unreadable must be one of {ON_UNREADABLE}, '
                             f'got {on_unreadable!r}')
        self.side_by_side = side_by_side
        self.allow_unused_gt = allow_unused_gt
        self.on_unreadable = on_unreadable
        self.skipped = {}  # index -> message, for on_unreadable='skip'
        # Pipeline types resolve in restorelab's scope even when no default scope is set.
        with DefaultScope.overwrite_default_scope(SCOPE):
            super().__init__(
                ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                pipeline=list(pipeline), test_mode=test_mode, **kwargs)

    def prepare_data(self, idx):
        """The pipeline's output for sample ``idx``; None (mmengine then draws another
        index) for an unreadable file under ``on_unreadable='skip'`` in training."""
        if idx in self.skipped:
            return None
        try:
            return super().prepare_data(idx)
        except ImageReadError as err:
            if self.on_unreadable == 'stop' or self.test_mode:
                raise
            self.skipped[idx] = str(err)
            print_log(f'{type(self).__name__}: skipping sample {idx} ({len(self.skipped)} '
                      f'skipped so far in this loader process): {err}', logger='current',
                      level=logging.WARNING)
            return None

    # ------------------------------------------------------------------ layouts
    def load_data_list(self):
        if self.ann_file:
            return self._load_annotation_pairs()
        if self.side_by_side:
            return self._load_side_by_side()
        return self._load_folder_pairs()

    def _fix_hint(self):
        return (f'Check data_root ({self.data_root!r}) and data_prefix in the dataset config '
                '(docs/datasets.md lists the folder tree of each set).')

    def _folder_layout_text(self, img_dir, gt_dir):
        if self.img_tmpl.is_identity and self.gt_tmpl.is_identity:
            how = 'the same file names on both sides (extensions may differ), e.g. 1.png <-> 1.png'
        else:
            how = (f"names paired by filename_tmpl img={self.img_tmpl!r} -> gt={self.gt_tmpl!r} "
                   "('{}' is the shared part, '*' any text; extensions may differ)")
        return f'rainy images under {img_dir!r}, ground truths under {gt_dir!r}, {how}'

    def _load_folder_pairs(self):
        owner = type(self).__name__
        img_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        layout = self._folder_layout_text(img_dir, gt_dir)
        fix = self._fix_hint()
        rain_files = check_folder(img_dir, 'rainy-image folder', owner, layout, fix)
        if os.path.normpath(img_dir) == os.path.normpath(gt_dir):
            if self.img_tmpl.is_identity:
                raise ValueError(
                    f'{owner}: data_prefix img and gt both name {img_dir!r}; one folder can only '
                    "hold both sides with distinct templates, e.g. filename_tmpl=dict("
                    "img='rain-{}', gt='norain-{}')")
            is_rain = [self.img_tmpl.match(posixpath.basename(split_key(f)[0])) is not None
                       for f in rain_files]
            gt_files = [f for f, r in zip(rain_files, is_rain) if not r]
            rain_files = [f for f, r in zip(rain_files, is_rain) if r]
            if not rain_files or not gt_files:
                side = 'rainy' if not rain_files else 'ground-truth'
                raise DatasetLayoutError(
                    f'{owner}: the folder {img_dir!r} holds no {side} images (found '
                    f'{len(rain_files)} names fitting {self.img_tmpl!r} and {len(gt_files)} '
                    f'others). Expected layout: {layout}. {fix}')
        else:
            gt_files = check_folder(gt_dir, 'ground-truth folder', owner, layout, fix)
        rain_index = index_by_key(rain_files, img_dir, 'rainy-image folder', owner)
        gt_index = index_by_key(gt_files, gt_dir, 'ground-truth folder', owner)

        data_list, unmatched, used_gt = [], [], set()
        for key in sorted(rain_index, key=natural_key):
            rel = rain_index[key]
            sub, stem = posixpath.split(key)
            core = self.img_tmpl.match(stem)
            if core is None:
                unmatched.append(f'{rel} (name does not fit {self.img_tmpl!r})')
                continue
            gt_key = posixpath.join(sub, self.gt_tmpl.format(core))
            gt_rel = gt_index.get(gt_key)
            if gt_rel is None:
                unmatched.append(f'{rel} (no {gt_key}.*)')
                continue
            used_gt.add(gt_key)
            data_list.append(dict(
                img_path=os.path.join(img_dir, rel), gt_path=os.path.join(gt_dir, gt_rel), key=key))
        counts = f'found {len(rain_index)} rainy and {len(gt_index)} ground-truth images'
        if unmatched:
            raise DatasetLayoutError(
                f'{owner}: {len(unmatched)} of {len(rain_index)} rainy images in {img_dir!r} have '
                f'no ground truth in {gt_dir!r} ({counts}). Expected layout: {layout}. First '
                f'unmatched: {format_examples(unmatched)}. {fix}')
        unused = sorted(set(gt_index) - used_gt)
        if unused and not self.allow_unused_gt:
            raise DatasetLayoutError(
                f'{owner}: {len(unused)} of {len(gt_index)} ground-truth images in {gt_dir!r} are '
                f'the partner of no rainy image in {img_dir!r} ({counts}, {len(data_list)} pairs); '
                f'is the rainy folder incomplete? Expected layout: {layout}. First unused: '
                f'{format_examples(gt_index[k] for k in unused)}. {fix} Pass '
                'allow_unused_gt=True if the extra ground truths are intended.')
        return data_list

    def _load_side_by_side(self):
        owner = type(self).__name__
        img_dir = self.data_prefix['img']
        rain_half = 'left' if self.side_by_side == 'rain_left' else 'right'
        clean_half = 'right' if rain_half == 'left' else 'left'
        layout = (f'image files under {img_dir!r}, each twice as wide as the scene, the rainy '
                  f'image in the {rain_half} half and the clean one in the {clean_half} half')
        files = check_folder(img_dir, 'side-by-side image folder', owner, layout,
                             self._fix_hint())
        index = index_by_key(files, img_dir, 'side-by-side image folder', owner)
        return [
            dict(img_path=os.path.join(img_dir, index[key]),
                 gt_path=os.path.join(img_dir, index[key]), key=key,
                 side_by_side=self.side_by_side)
            for key in sorted(index, key=natural_key)
        ]

    def _load_annotation_pairs(self):
        owner = type(self).__name__
        ann = self.ann_file
        img_base, gt_base = self.data_prefix['img'] or '.', self.data_prefix['gt'] or '.'
        layout = (f'a text file {ann!r} with one pair per line, "rain_path gt_path", '
                  f'rain paths relative to {img_base!r} and gt paths relative to {gt_base!r}')
        if not os.path.isfile(ann):
            raise DatasetLayoutError(
                f'{owner}: the annotation file {ann!r} does not exist. Expected layout: {layout}. '
                f'Found 0 pairs. Check data_root ({self.data_root!r}) and ann_file in the '
                'dataset config.')
        pairs, bad = [], []
        with open(ann, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                text = line.strip()
                if not text or text.startswith('#'):
                    continue
                fields = text.split()
                if len(fields) != 2:
                    bad.append(f'line {lineno}: {text[:80]!r}')
                else:
                    pairs.append((lineno, fields[0], fields[1]))
        if bad:
            raise DatasetLayoutError(
                f'{owner}: {len(bad)} lines of {ann!r} do not hold exactly two paths. Expected '
                f'layout: {layout} (paths without spaces). First bad lines: '
                f'{format_examples(bad)}.')
        if not pairs:
            raise DatasetLayoutError(
                f'{owner}: the annotation file {ann!r} lists no pairs (found 0 pairs). Expected '
                f'layout: {layout}.')

        listing = {}

        def exists(path):
            folder, name = os.path.split(path)
            if folder not in listing:
                listing[folder] = set(os.listdir(folder)) if os.path.isdir(folder) else set()
            return name in listing[folder]

        def resolve(base, listed):
            if os.path.isabs(listed) and exists(listed):
                return listed, None
            rel = listed
            while rel.startswith(('./', '/')):
                rel = rel[2:] if rel.startswith('./') else rel[1:]
            return os.path.join(base, rel), rel

        data_list, missing, keys = [], [], {}
        n_missing_rain = n_missing_gt = 0
        for lineno, rain, gt in pairs:
            img_path, rel = resolve(img_base, rain)
            gt_path, _ = resolve(gt_base, gt)
            gone = []
            if not exists(img_path):
                n_missing_rain += 1
                gone.append(f'rain {img_path}')
            if not exists(gt_path):
                n_missing_gt += 1
                gone.append(f'gt {gt_path}')
            if gone:
                missing.append(f'line {lineno}: ' + ', '.join(gone))
                continue
            key = split_key(rel if rel is not None else img_path)[0]
            key = posixpath.normpath(key.replace(os.sep, '/'))
            if key in keys:
                raise DatasetLayoutError(
                    f'{owner}: {ann!r} lists the rainy image {rain!r} twice (lines {keys[key]} '
                    f'and {lineno}); keys must be unique. Remove the duplicate line.')
            keys[key] = lineno
            data_list.append(dict(img_path=img_path, gt_path=gt_path, key=key))
        if missing:
            raise DatasetLayoutError(
                f'{owner}: {len(missing)} of {len(pairs)} pairs listed in {ann!r} name files that '
                f'do not exist ({n_missing_rain} rainy, {n_missing_gt} ground truth missing). '
                f'Expected layout: {layout}; a leading "/" or "./" is read relative to them. '
                f'First missing: {format_examples(missing)}. Check data_root '
                f'({self.data_root!r}) and that the archives are fully unpacked.')
        return data_list
