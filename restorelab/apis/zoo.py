"""Released weights by name: download once into a cache, verify the sha256, and hand over
what builds and loads the model (config, local file, converter).

    from restorelab.apis import init_model
    model = init_model('prenet_rain100h')   # downloads, verifies, converts, loads

Where files go (first that is set):
    the ``cache_dir`` argument, the ``RESTORELAB_ZOO_CACHE`` environment variable,
    ``~/.cache/restorelab/zoo``. A file is named ``<name>-<first 8 hex of its sha256>.pth``.

Where files come from: the manifest's URL (``https://raw.githubusercontent.com/<owner>/
<repo>/<commit>/<path>``), unless ``mirror`` (argument) or ``RESTORELAB_ZOO_MIRROR``
(environment) replaces its ``https://raw.githubusercontent.com/`` with

- another base URL (``http://``, ``https://``, ``file://``) serving ``<owner>/<repo>/
  <commit>/<path>`` below it, or
- a local folder holding ``<owner>/<repo>/<commit>/<path>`` or clones
  ``<owner>/<repo>/<path>`` (checked out at the commit; the sha256 check catches another).

Every file is checked against the manifest's sha256 before it enters the cache. A download
is written to a temporary file in the cache folder and renamed into place only once
verified, so a failed or corrupted download leaves nothing under the final name, and two
processes downloading the same model do not disturb each other.
"""
import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from restorelab.utils.errors import (ChecksumError, DownloadError, NotDownloadableError,
                                     UnknownModelError, ZooError)
from .zoo_manifest import RAW_GITHUB, RELEASES, Release

CACHE_ENV = 'RESTORELAB_ZOO_CACHE'
MIRROR_ENV = 'RESTORELAB_ZOO_MIRROR'
DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'restorelab', 'zoo')
DEFAULT_TIMEOUT = 60.0  # seconds without data before a download is abandoned
REPO_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 20
_URL_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


@dataclass(frozen=True)
class ReleasedModel:
    """What :func:`get_released` hands over: enough to build and load the model."""
    name: str
    config: str  # absolute path of the config file
    checkpoint: str  # absolute path of the verified official file in the cache
    converter: str  # name in CHECKPOINT_CONVERTERS
    release: Release


def list_released(downloadable=None):
    """Every manifest entry (:class:`~restorelab.apis.zoo_manifest.Release`), in manifest
    order; ``downloadable=True``/``False`` keeps only one kind."""
    return [r for r in RELEASES.values() if downloadable is None or r.downloadable == downloadable]


def is_released_name(name):
    return isinstance(name, str) and name in RELEASES


def _looks_like_path(text):
    return os.sep in text or '/' in text or text.endswith(('.py', '.pth', '.pt'))


def find_release(name):
    """The manifest entry of ``name``; an :class:`UnknownModelError` lists the known names."""
    if is_released_name(name):
        return RELEASES[name]
    name = os.fspath(name)
    if _looks_like_path(name):
        what = f'{name!r} does not exist (no such file), and it is not a released model name'
    else:
        what = f'{name!r} is not a released model name (nor an existing file)'
    raise UnknownModelError(
        f'{what}. Downloadable by name: {", ".join(r.name for r in list_released(True))}. '
        f'Listed with download links only: {", ".join(r.name for r in list_released(False))}. '
        'See `python tools/zoo.py list` or docs/model_zoo.md.')


def resolve_cache_dir(cache_dir=None):
    """The cache folder: ``cache_dir``, else ``$RESTORELAB_ZOO_CACHE``, else
    ``~/.cache/restorelab/zoo``."""
    chosen = cache_dir if cache_dir is not None else (os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)
    return Path(os.path.expanduser(os.fspath(chosen))).absolute()


def cached_path(release, cache_dir=None):
    """Where ``release``'s verified file lives in the cache (whether or not it is there)."""
    return resolve_cache_dir(cache_dir) / f'{release.name}-{release.sha256[:8]}.pth'


def resolve_config(release):
    """The absolute path of ``release.config`` in this source tree (not the current folder)."""
    path = REPO_ROOT / release.config
    if not path.is_file():
        raise ZooError(
            f'the config of released model {release.name!r}, {release.config}, is not in '
            f'{REPO_ROOT}. Released models are built from the configs of a restorelab source '
            'checkout (git clone, then pip install -e .); this installation has no configs/ or '
            'lacks this one.')
    return str(path)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _mirror(mirror):
    value = mirror if mirror is not None else os.environ.get(MIRROR_ENV, '')
    return os.fspath(value).strip() or None


def resolve_source(release, mirror=None):
    """``('url', URL)`` or ``('file', Path)``: where ``release``'s file is fetched from,
    after applying ``mirror`` / ``$RESTORELAB_ZOO_MIRROR`` (see module doc)."""
    if not release.downloadable:
        raise _not_downloadable(release)
    mirror = _mirror(mirror)
    if mirror is None:
        return 'url', release.url
    tail = release.url[len(RAW_GITHUB):]  # <owner>/<repo>/<commit>/<path>
    if _URL_SCHEME.match(mirror):
        return 'url', mirror.rstrip('/') + '/' + tail
    folder = Path(os.path.expanduser(mirror))
    if not folder.is_dir():
        raise ZooError(
            f'{MIRROR_ENV} (or mirror=) is {mirror!r}: neither a URL (http://, https://, file://) '
            'nor an existing folder. Set it to a mirror of raw.githubusercontent.com or to a folder '
            'of clones laid out <owner>/<repo>/, or unset it to download from GitHub.')
    candidates = [folder / tail, folder / release.source.repo / release.path]
    for candidate in candidates:
        if candidate.is_file():
            return 'file', candidate
    raise DownloadError(
        f'released model {release.name!r} is not in the mirror folder {folder} ({MIRROR_ENV}): '
        f'looked for {candidates[0]} and {candidates[1]}. Clone it there (git clone '
        f'https://github.com/{release.source.repo} {folder / release.source.repo}, then git '
        f'checkout {release.source.commit}), or unset {MIRROR_ENV} to download from GitHub.')


def _not_downloadable(release):
    names = ', '.join(r.name for r in list_released(True))
    if not release.links:
        return NotDownloadableError(
            f'released model {release.name!r} ({release.model}) has no weights to download: '
            f'{release.note}. Models downloadable by name: {names}.')
    links = '; '.join(f'{label}: {url}' for label, url in release.links)
    return NotDownloadableError(
        f'released model {release.name!r} ({release.model}, {release.trained_for}) cannot be '
        'fetched and verified automatically: its weights are not a file in a public git '
        f'repository. Download it by hand ({links}), then convert it: '
        f'{release.convert_command}. Models downloadable by name: {names}.')


def _copy_stream(read, out, digest):
    """Copy ``read(n)`` chunks into ``out``; returns the byte count."""
    size = 0
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return size
        out.write(chunk)
        digest.update(chunk)
        size += len(chunk)


def _fetch_url(url, out, digest, timeout):
    """Stream ``url`` into ``out``; returns ``(bytes, detail)`` with ``detail`` None on
    success or the reason of the failure (network problems are reported, not raised)."""
    request = urllib.request.Request(url, headers={'User-Agent': 'restorelab'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            expected = response.headers.get('Content-Length')
            size = _copy_stream(response.read, out, digest)
    except urllib.error.HTTPError as err:
        return 0, f'HTTP {err.code} {err.reason}'
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, TimeoutError):
            return 0, f'no answer within {timeout:g} s (timeout)'
        return 0, f'cannot connect ({reason})'
    except http.client.IncompleteRead as err:
        return 0, f'the connection closed after {len(err.partial)} more bytes (truncated body)'
    except TimeoutError:
        return 0, f'no data for {timeout:g} s (timeout)'
    except (http.client.HTTPException, ConnectionError) as err:
        return 0, f'the connection failed ({type(err).__name__}: {err})'
    if expected is not None and size != int(expected):
        return size, f'received {size} of {expected} bytes (truncated body)'
    return size, None


def get_released(name, cache_dir=None, mirror=None, timeout=DEFAULT_TIMEOUT, force=False,
                 log=None):
    """Make released model ``name``'s official file available locally, verified.

    Args:
        name: a manifest name (``list_released()``, ``python tools/zoo.py list``).
        cache_dir: the cache folder (default ``$RESTORELAB_ZOO_CACHE``, else
            ``~/.cache/restorelab/zoo``).
        mirror: replaces ``https://raw.githubusercontent.com/``: a base URL or a local folder
            (default ``$RESTORELAB_ZOO_MIRROR``; see the module doc).
        timeout: seconds without an answer or data before a download is abandoned.
        force: download again even when the cache holds the file.
        log: called with one line before a download (default: print to stderr).

    Returns:
        :class:`ReleasedModel` (absolute config path, cached file, converter name).

    Raises:
        UnknownModelError, NotDownloadableError, DownloadError, ChecksumError: all
        :class:`UserInputError`; the message names the model, the URL or file and what to do.
    """
    from restorelab.utils.fileio import atomic_output

    release = find_release(name)
    if not release.downloadable:
        raise _not_downloadable(release)
    config = resolve_config(release)
    target = cached_path(release, cache_dir)
    if target.is_file() and not force:
        got = file_sha256(target)
        if got != release.sha256:
            raise ChecksumError(
                f'the cached file of released model {name!r}, {target}, has sha256 {got}, '
                f'expected {release.sha256}: it was changed after it was verified. Delete it '
                f'(or pass force=True / `tools/zoo.py download {name} --force`) to download it '
                'again.')
        return ReleasedModel(name, config, str(target), release.converter, release)

    kind, source = resolve_source(release, mirror)
    where = str(source)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    log(f'downloading released model {name!r} from {where} into {target}')
    digest = hashlib.sha256()
    try:
        with atomic_output(target) as out:
            if kind == 'file':
                with open(source, 'rb') as f:
                    size, failure = _copy_stream(f.read, out, digest), None
            else:
                size, failure = _fetch_url(source, out, digest, timeout)
            if failure:
                raise DownloadError(
                    f'could not download released model {name!r} from {where}: {failure}. '
                    f'Nothing was written to the cache ({target.parent}). Check the network '
                    f'connection and the address ({MIRROR_ENV} replaces its base when set) and '
                    f'try again; offline, set {MIRROR_ENV} to a folder of clones.')
            got = digest.hexdigest()
            if got != release.sha256:
                raise ChecksumError(
                    f'the file downloaded for released model {name!r} from {where} ({size} bytes) '
                    f'has sha256 {got}, expected {release.sha256}. It was discarded: nothing was '
                    f'written to the cache ({target.parent}). The transfer was damaged or the '
                    f'source serves another file (check {MIRROR_ENV} if set); try again.')
    except OSError as err:  # the cache folder, not the network (network errors are reported above)
        raise ZooError(
            f'could not write the download of released model {name!r} into {target.parent}: '
            f'{err}. Choose a writable cache folder with {CACHE_ENV} or cache_dir=.') from None
    return ReleasedModel(name, config, str(target), release.converter, release)


def verify_cache(cache_dir=None):
    """``[(release, path, state)]`` for every downloadable model, ``state`` being
    ``'ok'``, ``'missing'`` or ``'sha256 mismatch'`` (the file is re-hashed)."""
    rows = []
    for release in list_released(True):
        path = cached_path(release, cache_dir)
        if not path.is_file():
            state = 'missing'
        else:
            state = 'ok' if file_sha256(path) == release.sha256 else 'sha256 mismatch'
        rows.append((release, path, state))
    return rows


def load_released_weights(model, released):
    """Convert ``released``'s official file with its converter (read with
    ``torch.load(weights_only=True)``) and load it strictly into ``model.arch``."""
    from restorelab.models.converters import load_official_checkpoint

    state_dict = load_official_checkpoint(released.checkpoint, released.converter, arch=model.arch)
    model.arch.load_state_dict(state_dict, strict=True)



def release_to_dict(release):
    """A manifest entry as plain JSON-able data (``tools/zoo.py list --json``)."""
    return dict(
        name=release.name, model=release.model, trained_for=release.trained_for,
        downloadable=release.downloadable, config=release.config, converter=release.converter,
        url=release.url, sha256=release.sha256,
        source=dict(repo=release.source.repo, commit=release.source.commit, path=release.path,
                    licence=release.source.licence),
        training_data=release.training_data,
        published=(dict(psnr=release.published[0], ssim=release.published[1])
                   if release.published else None),
        published_source=release.published_source,
        links=[dict(label=label, url=url) for label, url in release.links],
        convert_command=release.convert_command if release.links or release.downloadable else None,
        note=release.note)


def _published(release):
    if not release.published:
        return '—'
    psnr, ssim = release.published
    return f'{psnr:.2f} / {ssim:g}'


def _grouped(releases, key, value):
    """``{key(release): [distinct value(release), in manifest order]}`` for the docs' lists."""
    groups = {}
    for r in releases:
        values = groups.setdefault(key(r), [])
        if value(r) not in values:
            values.append(value(r))
    return groups


def markdown_tables():
    """The tables of docs/model_zoo.md's "Released weights by name", from the manifest."""
    lines = ['| name | model | trained for | published PSNR / SSIM | file (repository @ commit) '
             '| sha256 |', '|---|---|---|---|---|---|']
    for r in list_released(True):
        lines.append(f'| `{r.name}` | {r.model} | {r.trained_for} | {_published(r)} | '
                     f'[{r.source.repo}@{r.source.commit[:7]}: {r.path}]({r.url}) | '
                     f'`{r.sha256[:16]}…` |')
    lines += ['', '| name | model | trained for | published PSNR / SSIM | download | convert '
              '(after downloading) |', '|---|---|---|---|---|---|']
    for r in list_released(False):
        links = ', '.join(f'[{label}]({url})' for label, url in r.links) or 'none found (note)'
        convert = f'`{r.convert_command}`' if r.links else '—'
        lines.append(f'| `{r.name}` | {r.model} | {r.trained_for} | {_published(r)} | {links} | '
                     f'{convert} |')
    lines += ['', 'Notes:']
    notes = _grouped([r for r in RELEASES.values() if r.note], lambda r: r.note, lambda r: r.name)
    lines += [f'- {", ".join(f"`{n}`" for n in names)}: {note}.' for note, names in notes.items()]
    lines += ['', 'Published numbers:']
    model = lambda r: r.model  # noqa: E731
    for source, models in _grouped(RELEASES.values(), lambda r: r.published_source, model).items():
        lines.append(f'- {", ".join(models)}: {source}.')
    lines += ['', 'Repositories and their licences:']
    for source, models in _grouped(RELEASES.values(), lambda r: r.source, model).items():
        lines.append(f'- [{source.repo}](https://github.com/{source.repo}) at '
                     f'`{source.commit}` ({", ".join(models)}): licence {source.licence}.')
    return '\n'.join(lines) + '\n'
