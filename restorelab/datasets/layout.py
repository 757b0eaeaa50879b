"""Folder scanning and file-name templates shared by the image datasets.

A dataset's layout is checked once, when the dataset is built: a missing or
empty folder, or an image without its partner, raises :class:`DatasetLayoutError`
with the path, the layout expected, the counts found and a few example names,
instead of an empty epoch or a silent skip later.
"""
import os
import re

from restorelab.utils.errors import DatasetLayoutError
from restorelab.utils.image_io import IMG_EXTENSIONS, is_image_file

#: How many example names an error message lists.
MAX_EXAMPLES = 5


def format_examples(names, limit=MAX_EXAMPLES):
    """``'a', 'b', 'c' (and 7 more)`` for an error message."""
    names = list(names)
    shown = ', '.join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f' (and {len(names) - limit} more)'
    return shown


def natural_key(key):
    """Sort key that orders numbers by value: ``'2'`` before ``'10'``, ``'rain-9'`` before
    ``'rain-10'`` (test sets named ``1.png ... 100.png`` are listed 1, 2, 3, ...)."""
    return [(0, int(part), '') if part.isdigit() else (1, 0, part)
            for part in re.split(r'(\d+)', key) if part]


def split_key(rel_path):
    """``'sub/901_1.jpg'`` -> ``('sub/901_1', '.jpg')``: the key is the relative stem."""
    stem, ext = os.path.splitext(rel_path)
    return stem, ext


def scan_images(folder, recursive=True):
    """Relative POSIX paths of the image files under ``folder``, sorted.

    Hidden files and folders (names starting with '.') are not visited;
    non-image files are counted but not returned.

    Returns:
        tuple[list[str], int]: image paths relative to ``folder`` and the
        number of other (non-image) files seen.
    """
    images, others = [], 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        if not recursive:
            dirs[:] = []
        rel_root = os.path.relpath(root, folder)
        for name in files:
            if name.startswith('.'):
                continue
            if not is_image_file(name):
                others += 1
                continue
            rel = name if rel_root == '.' else os.path.join(rel_root, name)
            images.append(rel.replace(os.sep, '/'))
    return sorted(images), others


def check_folder(folder, role, owner, layout, fix):
    """Scan ``folder`` and raise :class:`DatasetLayoutError` if it is missing or has no images.

    Args:
        folder (str): the folder (data_root joined with the prefix).
        role (str): what the folder holds, e.g. ``'rainy-image folder'``.
        owner (str): the dataset class name, for the message.
        layout (str): the expected layout in words.
        fix (str): what to check, e.g. the config keys that set the path.

    Returns:
        list[str]: the image paths relative to ``folder`` (see :func:`scan_images`).
    """
    if not os.path.isdir(folder):
        what = 'is a file, not a folder' if os.path.exists(folder) else 'does not exist'
        raise DatasetLayoutError(
            f'{owner}: the {role} {folder!r} {what}. Expected layout: {layout}. '
            f'Found 0 images. {fix}')
    images, others = scan_images(folder)
    if not images:
        raise DatasetLayoutError(
            f'{owner}: the {role} {folder!r} contains no image files '
            f'(searched recursively for {", ".join(IMG_EXTENSIONS)}; found 0 images and '
            f'{others} other files). Expected layout: {layout}. {fix}')
    return images


def group_by_key(rel_paths):
    """``(index, clashes)``: each relative stem (the key, see :func:`split_key`) -> its path,
    and ``{key: [paths]}`` for the keys that several files share (``1.png`` and ``1.jpg``),
    which are left out of the index: pairing by name ignores the extension."""
    groups = {}
    for rel in rel_paths:
        groups.setdefault(split_key(rel)[0], []).append(rel)
    index = {key: paths[0] for key, paths in groups.items() if len(paths) == 1}
    clashes = {key: paths for key, paths in groups.items() if len(paths) > 1}
    return index, clashes


def index_by_key(rel_paths, folder, role, owner):
    """Map each relative stem to its path; two files with one stem (``1.png``, ``1.jpg``) raise."""
    index, clashes = group_by_key(rel_paths)
    if clashes:
        shown = [' / '.join(paths) for paths in clashes.values()]
        raise DatasetLayoutError(
            f'{owner}: {len(clashes)} names in the {role} {folder!r} exist with two extensions, '
            f'so the pairing by name is ambiguous: {format_examples(shown)}. '
            'Keep one file per name (pairing ignores the extension).')
    return index


class FilenameTemplate:
    """A file-name template: ``'{}'`` marks the part shared by rain and gt names,
    ``'*'`` (rainy side only) any non-empty text that is dropped.

    ``FilenameTemplate('rain-{}').match('rain-001') == '001'``;
    ``FilenameTemplate('{}_*').match('901_14') == '901'``;
    ``FilenameTemplate('norain-{}').format('001') == 'norain-001'``.
    Templates apply to the file stem (no extension, no folder).
    """

    def __init__(self, template, allow_wildcard=True):
        if not isinstance(template, str) or template.count('{}') != 1:
            raise ValueError(
                f"filename template {template!r} must be a string holding exactly one '{{}}' "
                "(the part of the name shared by rainy and clean files), e.g. 'rain-{}'")
        if '*' in template and not allow_wildcard:
            raise ValueError(
                f"filename template {template!r}: '*' is only allowed on the rainy side "
                "(filename_tmpl['img']); the gt template must name one file")
        if os.sep in template or '/' in template:
            raise ValueError(f'filename template {template!r} must not contain a folder separator')
        self.template = template
        prefix, suffix = template.split('{}')

        def to_regex(part):
            return '.+?'.join(re.escape(p) for p in part.split('*'))

        # The shared part is greedy so that '{}_*' maps '1_2_3' to '1_2'.
        self._regex = re.compile(f'{to_regex(prefix)}(.+){to_regex(suffix)}')
        self.is_identity = template == '{}'
        self.has_wildcard = '*' in template

    def match(self, stem):
        """The shared part of ``stem``, or None when ``stem`` does not fit the template."""
        m = self._regex.fullmatch(stem)
        return m.group(1) if m else None

    def format(self, core):
        return self.template.replace('{}', core)

    def __repr__(self):
        return repr(self.template)
