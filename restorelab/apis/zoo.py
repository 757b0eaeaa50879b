"""Released weights by name: fetch once into a cache, check, and hand over what builds and
loads the model (config, local file, converter).

    from restorelab.apis import init_model
    model = init_model('prenet_rain100h')   # fetches, checks, converts, loads

Where files go (first that is set):
    the ``cache_dir`` argument, the ``RESTORELAB_ZOO_CACHE`` environment variable,
    ``~/.cache/restorelab/zoo``. A file is named ``<name>-<first 8 hex of its sha256 or git
    blob id>.pth``, or ``<name>.pth`` when neither is known beforehand (its sha256 is then
    recorded in ``recorded-digests.json`` beside it).

Where files come from (the manifest's ``host``, :mod:`restorelab.apis.zoo_manifest`):
    ``github``: ``https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>``, unless
    ``mirror`` (argument) or ``RESTORELAB_ZOO_MIRROR`` (environment) replaces its base with

    - another base URL (``http://``, ``https://``, ``file://``) serving ``<owner>/<repo>/
      <commit>/<path>`` below it, or
    - a local folder holding ``<owner>/<repo>/<commit>/<path>``, git repositories
      ``<owner>/<repo>`` or ``<owner>/<repo>.git`` (bare, as ``git clone --mirror`` makes
      them, or with a work tree; the file is read with ``git`` at the pinned commit, so a
      partial copy that lacks unrelated large files works), or plain copies
      ``<owner>/<repo>/<path>`` (whatever their commit; the check catches another file);

    ``url``: that HTTPS address; ``gdrive``: Google Drive through the optional ``gdown``
    package (``pip install -e '.[zoo]'``; ``HTTPS_PROXY`` is honoured).

How a file is checked before it enters the cache (the manifest's ``check``): against its
sha256; against its git blob id; by an output check (the converted model derains the
release's sample inputs and must reproduce the release's own results to at least 50 dB after
8-bit rounding) plus the recorded digest; or by the recorded digest alone: the first
download's sha256 is recorded and a later download that differs is refused unless
``accept_new_digest`` is given (``tools/zoo.py download NAME --accept-new-digest``).

A download is written into a temporary folder in the cache and moved into place only once
checked, so a failed, refused or interrupted download leaves nothing under the final name, and
two processes fetching the same model do not disturb each other.
"""
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from urllib.parse import quote
from dataclasses import dataclass
from pathlib import Path

from restorelab.utils.errors import (ChecksumError, DownloadError, NotDownloadableError,
                                     UnknownModelError, ZooError, closest_names)
from .zoo_manifest import RAW_GITHUB, RELEASES, Release

CACHE_ENV = 'RESTORELAB_ZOO_CACHE'
MIRROR_ENV = 'RESTORELAB_ZOO_MIRROR'
DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'restorelab', 'zoo')
DEFAULT_TIMEOUT = 60.0  # seconds without data before a download is abandoned
RECORD_FILE = 'recorded-digests.json'
SAMPLES_DIR = 'samples'
REPO_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 20
_URL_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')
_TMP_PREFIX = '.tmp-'

#: What each check means, for ``tools/zoo.py list`` and the docs.
CHECKS = {
    'sha256': "the manifest's sha256",
    'git blob': 'the git blob id of the file at the pinned commit',
    'output check': "reproduces the release's own result images (>= 50 dB after 8-bit "
                    "rounding); first download's sha256 recorded",
    'recorded digest': "first download's sha256 recorded; a later download that differs is "
                       'refused',
}


@dataclass(frozen=True)
class ReleasedModel:
    """What :func:`get_released` hands over: enough to build and load the model."""
    name: str
    config: str  # absolute path of the config file
    checkpoint: str  # absolute path of the checked official file in the cache
    converter: str  # name in CHECKPOINT_CONVERTERS
    release: Release


# ---------------------------------------------------------------------------- the manifest
def list_released(downloadable=None):
    """Every manifest entry (:class:`~restorelab.apis.zoo_manifest.Release`), in manifest
    order; ``downloadable=True``/``False`` keeps only one kind."""
    return [r for r in RELEASES.values() if downloadable is None or r.downloadable == downloadable]


def is_released_name(name):
    return isinstance(name, str) and name in RELEASES


def _looks_like_path(text):
    return os.sep in text or '/' in text or text.endswith(('.py', '.pth', '.pt'))


def find_release(name):
    """The manifest entry of ``name``; an :class:`UnknownModelError` names the closest names
    and lists the known ones."""
    if is_released_name(name):
        return RELEASES[name]
    name = os.fspath(name)
    if _looks_like_path(name):
        what = f'{name!r} does not exist (no such file), and it is not a released model name'
    else:
        what = f'{name!r} is not a released model name (nor an existing file)'
    close = closest_names(os.path.basename(name), list(RELEASES))
    hint = f'Did you mean {" or ".join(map(repr, close))}? ' if close else ''
    raise UnknownModelError(
        f'{what}. {hint}Fetched by name: {", ".join(r.name for r in list_released(True))}. '
        f'Listed with download links only: {", ".join(r.name for r in list_released(False))}. '
        'See `python tools/zoo.py list` or docs/released_weights.md.')


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


def _not_downloadable(release):
    names = ', '.join(r.name for r in list_released(True))
    if not release.links:
        return NotDownloadableError(
            f'released model {release.name!r} ({release.model}) has no weights to download: '
            f'{release.note}. Models fetched by name: {names}.')
    links = '; '.join(f'{label}: {url}' for label, url in release.links)
    return NotDownloadableError(
        f'released model {release.name!r} ({release.model}, {release.trained_for}) cannot be '
        'fetched and checked automatically (its weights are only on a file host restorelab '
        f'does not download from). Download it by hand ({links}), then convert it: '
        f'{release.convert_command}. Models fetched by name: {names}.')


# ------------------------------------------------------------------------------- the cache
def resolve_cache_dir(cache_dir=None):
    """The cache folder: ``cache_dir``, else ``$RESTORELAB_ZOO_CACHE``, else
    ``~/.cache/restorelab/zoo``."""
    chosen = cache_dir if cache_dir is not None else (os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)
    return Path(os.path.expanduser(os.fspath(chosen))).absolute()


def cached_path(release, cache_dir=None):
    """Where ``release``'s checked file lives in the cache (whether or not it is there)."""
    known = release.sha256 or release.git_blob
    stem = f'{release.name}-{known[:8]}' if known else release.name
    return resolve_cache_dir(cache_dir) / f'{stem}.pth'


def companion_paths(release, cache_dir=None):
    """``[(repository path, digest, cache path)]`` of the files a release needs beside its main
    one (``Release.companions``: a TensorFlow checkpoint's data shard beside its ``.index``),
    cached under the main file's name with the companion's own suffix
    (``<name>-<hash>.data-00000-of-00001``)."""
    main = cached_path(release, cache_dir)
    stem = release.path.rsplit('/', 1)[-1].rsplit('.', 1)[0] if release.path else ''
    rows = []
    for path, digest in release.companions:
        name = path.rsplit('/', 1)[-1]
        suffix = name[len(stem):] if stem and name.startswith(stem) else '.' + name
        rows.append((path, digest, main.with_name(main.stem + suffix)))
    return rows


def is_cached(release, cache_dir=None):
    """Whether ``release``'s file is in the cache (not re-hashed: see :func:`verify_cache`)."""
    return (release.downloadable and cached_path(release, cache_dir).is_file()
            and all(p.is_file() for _, _, p in companion_paths(release, cache_dir)))


def _companion_problem(path, digest):
    """None when the file at ``path`` has ``digest`` (a sha256, or a 40-hex git blob id)."""
    sha256, blob = _hashes(path)
    got = blob if len(digest) == 40 else sha256
    kind = 'git blob id' if len(digest) == 40 else 'sha256'
    return None if got == digest else f'has {kind} {got}, expected {digest}'


def _hashes(path):
    """``(sha256, git blob id)`` of the file at ``path``."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f'blob {os.path.getsize(path)}\0'.encode())
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def file_sha256(path):
    return _hashes(path)[0]


def read_records(cache_dir=None):
    """``{name: {'sha256', 'source', 'recorded'}}`` of the digests recorded in the cache."""
    path = resolve_cache_dir(cache_dir) / RECORD_FILE
    if not path.is_file():
        return {}
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ZooError(f'the record of downloaded digests {path} cannot be read ({err}); it is '
                       'written by restorelab only: delete it to start the records afresh') from None
    return records if isinstance(records, dict) else {}


def _write_record(cache_dir, name, sha256, source):
    from restorelab.utils.fileio import atomic_output

    records = read_records(cache_dir)
    records[name] = dict(sha256=sha256, source=source,
                         recorded=datetime.datetime.now(datetime.timezone.utc).isoformat(
                             timespec='seconds'))
    with atomic_output(resolve_cache_dir(cache_dir) / RECORD_FILE) as f:
        f.write((json.dumps(records, indent=1, sort_keys=True) + '\n').encode())


def _digest_problem(release, sha256, blob, records, accept_new=False):
    """None when a file of digests ``sha256``/``blob`` is the one ``release`` names; otherwise
    the sentence that says what differs."""
    if release.sha256:
        return None if sha256 == release.sha256 else (
            f'has sha256 {sha256}, expected {release.sha256}')
    if release.git_blob:
        return None if blob == release.git_blob else (
            f'has git blob id {blob}, expected {release.git_blob} (the file at '
            f'{release.source.repo}@{release.source.commit[:7]}: {release.path})')
    record = records.get(release.name)
    if record is None or accept_new or record.get('sha256') == sha256:
        return None
    return (f'has sha256 {sha256}, but the first download, recorded on {record.get("recorded")}, '
            f'had {record.get("sha256")}: the file at the source changed since')


def verify_cache(cache_dir=None):
    """``[(release, path, state)]`` for every fetchable model, ``state`` being ``'ok'``,
    ``'missing'`` or what differs (the file is re-hashed)."""
    records = read_records(cache_dir)
    rows = []
    for release in list_released(True):
        path = cached_path(release, cache_dir)
        if not path.is_file():
            state = 'missing'
        elif not release.sha256 and not release.git_blob and release.name not in records:
            state = 'no recorded digest'
        else:
            problem = _digest_problem(release, *_hashes(path), records)
            state = 'ok' if problem is None else (
                'sha256 mismatch' if release.sha256 else
                'git blob mismatch' if release.git_blob else 'differs from recorded digest')
            for _, digest, companion in companion_paths(release, cache_dir):
                if state == 'ok' and not companion.is_file():
                    state = f'missing {companion.name}'
                elif state == 'ok' and _companion_problem(companion, digest):
                    state = f'{companion.name} mismatch'
        rows.append((release, path, state))
    return rows


# ---------------------------------------------------------------------------- the sources
def _mirror(mirror):
    value = mirror if mirror is not None else os.environ.get(MIRROR_ENV, '')
    return os.fspath(value).strip() or None


def _git_dir(folder):
    """The git directory of a repository copy at ``folder`` (bare or with a work tree)."""
    if (folder / '.git').is_dir():
        return folder / '.git'
    if (folder / 'HEAD').is_file() and (folder / 'objects').is_dir():
        return folder
    return None


def _git_object(git_dir, commit, path):
    """``None`` when ``git_dir`` has the blob of ``path`` at ``commit``; else the reason."""
    try:
        found = subprocess.run(['git', '--git-dir', str(git_dir), 'cat-file', '-e',
                                f'{commit}:{path}'], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return f'git could not be run ({err})'
    if found.returncode == 0:
        return None
    has_commit = subprocess.run(['git', '--git-dir', str(git_dir), 'cat-file', '-e',
                                 f'{commit}^{{commit}}'], capture_output=True, timeout=60)
    if has_commit.returncode:
        return f'it lacks commit {commit} (fetch it: git --git-dir {git_dir} fetch)'
    return f'it has commit {commit[:7]} but not the file {path} there (a partial copy?)'


def resolve_repository_file(source, path, mirror=None):
    """Where the file ``path`` of repository ``source`` (a manifest ``Source``) is read from,
    after applying ``mirror`` / ``$RESTORELAB_ZOO_MIRROR``: ``('url', URL)``, ``('file',
    Path)`` or ``('git', (git_dir, commit, path))``."""
    tail = f'{source.repo}/{source.commit}/{path}'
    url_tail = f'{source.repo}/{source.commit}/{quote(path)}'  # paths may hold spaces
    mirror = _mirror(mirror)
    if mirror is None:
        return 'url', RAW_GITHUB + url_tail
    if _URL_SCHEME.match(mirror):
        return 'url', mirror.rstrip('/') + '/' + url_tail
    folder = Path(os.path.expanduser(mirror))
    if not folder.is_dir():
        raise ZooError(
            f'{MIRROR_ENV} (or mirror=) is {mirror!r}: neither a URL (http://, https://, file://) '
            'nor an existing folder. Set it to a mirror of raw.githubusercontent.com or to a folder '
            'of repositories laid out <owner>/<repo>/, or unset it to download from GitHub.')
    if (folder / tail).is_file():
        return 'file', folder / tail
    looked = [str(folder / tail)]
    for candidate in (folder / source.repo, folder / f'{source.repo}.git'):
        git_dir = _git_dir(candidate)
        if git_dir is None:
            continue
        problem = _git_object(git_dir, source.commit, path)
        if problem is None:
            return 'git', (git_dir, source.commit, path)
        looked.append(f'the git repository {git_dir}: {problem}')
    if (folder / source.repo / path).is_file():
        return 'file', folder / source.repo / path
    looked.append(str(folder / source.repo / path))
    raise DownloadError(
        f'{source.repo}: {path} is not in the mirror folder {folder} ({MIRROR_ENV}): looked '
        f'for {"; ".join(looked)}. Put a copy of the repository there (git clone --mirror '
        f'https://github.com/{source.repo} {folder / source.repo}.git), or unset {MIRROR_ENV} '
        'to download from GitHub.')


def resolve_source(release, mirror=None):
    """``(kind, where)``: ``('url', URL)``, ``('file', Path)``, ``('git', (git_dir, commit,
    path))`` or ``('gdrive', file id)``: where ``release``'s file is fetched from."""
    if not release.downloadable:
        raise _not_downloadable(release)
    if release.host == 'github':
        return resolve_repository_file(release.source, release.path, mirror)
    if release.host == 'gdrive':
        return 'gdrive', release.drive_id
    return 'url', release.url


def _describe(kind, where):
    if kind == 'git':
        git_dir, commit, path = where
        return f'{git_dir} ({commit[:7]}:{path})'
    if kind == 'gdrive':
        return f'Google Drive (https://drive.google.com/uc?id={where})'
    return str(where)


def _copy_stream(read, out):
    size = 0
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            return size
        out.write(chunk)
        size += len(chunk)


def _fetch_url(url, out, timeout):
    """Stream ``url`` into the binary file ``out``; returns the reason of a failure or None
    (network problems are reported, not raised)."""
    request = urllib.request.Request(url, headers={'User-Agent': 'restorelab'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            expected = response.headers.get('Content-Length')
            size = _copy_stream(response.read, out)
    except urllib.error.HTTPError as err:
        return f'HTTP {err.code} {err.reason}'
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            return f'no answer within {timeout:g} s (timeout)'
        return f'cannot connect ({err.reason})'
    except http.client.IncompleteRead as err:
        return f'the connection closed after {len(err.partial)} more bytes (truncated body)'
    except TimeoutError:
        return f'no data for {timeout:g} s (timeout)'
    except (http.client.HTTPException, ConnectionError) as err:
        return f'the connection failed ({type(err).__name__}: {err})'
    if expected is not None and size != int(expected):
        return f'received {size} of {expected} bytes (truncated body)'
    return None


def _fetch_git(git_dir, commit, path, out):
    with subprocess.Popen(['git', '--git-dir', str(git_dir), 'cat-file', 'blob',
                           f'{commit}:{path}'], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        _copy_stream(proc.stdout.read, out)
        error = proc.stderr.read().decode(errors='replace').strip()
    return f'git cat-file failed: {error}' if proc.returncode else None


def _gdown():
    try:
        import gdown
    except ImportError:
        raise DownloadError(
            'this released model is on Google Drive, which restorelab reads through the gdown '
            "package: install it with pip install -e '.[zoo]' (or pip install gdown), then "
            'run the command again.') from None
    return gdown


def _fetch_gdrive(file_id, out_path, timeout):
    """Download Drive file ``file_id`` to ``out_path`` with gdown; returns the reason of a
    failure or None. Drive's quota and sign-in pages are recognised and named."""
    gdown = _gdown()
    from gdown.exceptions import FileURLRetrievalError
    import requests
    try:
        gdown.download(id=file_id, output=str(out_path), quiet=True, use_cookies=False,
                       timeout=timeout)
    except FileURLRetrievalError as err:
        text = ' '.join(str(err).split())
        if 'Too many users' in text:
            return ('Google Drive refused it: the file\'s download quota is used up ("Too many '
                    'users have viewed or downloaded this file recently"); Drive lifts it '
                    'within 24 hours')
        return ('Google Drive did not hand out the file: it answered with a page that offers '
                'no download (a sign-in page: the file is not shared publicly, or was removed)')
    except gdown.exceptions.DownloadError as err:
        return f'the transfer broke ({str(err).splitlines()[0]})'
    except requests.exceptions.Timeout:
        return f'no answer or data within {timeout:g} s (timeout)'
    except requests.exceptions.ConnectionError as err:
        reason = 'name resolution failed' if 'NameResolution' in str(err) else 'refused or reset'
        return f'cannot connect to Google Drive ({reason})'
    except (requests.exceptions.RequestException, OSError) as err:
        return f'the connection failed ({type(err).__name__}: {str(err).splitlines()[0][:200]})'
    return None


def _looks_like_a_web_page(path):
    with open(path, 'rb') as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b'<!doctype html', b'<html', b'<?xml', b'<head'))


def _fetch(kind, where, out_path, timeout):
    """Fetch into ``out_path``; returns the reason of a failure or None."""
    if kind == 'gdrive':
        return _fetch_gdrive(where, out_path, timeout)
    with open(out_path, 'wb') as out:
        if kind == 'file':
            with open(where, 'rb') as f:
                _copy_stream(f.read, out)
            return None
        if kind == 'git':
            return _fetch_git(*where, out)
        return _fetch_url(where, out, timeout)


def _move_into_place(src, target):
    with open(src, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(src, target)


# ----------------------------------------------------------------------- the output check
def _sample_file(source, path, blob, cache_dir, mirror, timeout, log):
    """A sample image of an output check, fetched once into the cache and checked by its git
    blob id."""
    target = resolve_cache_dir(cache_dir) / SAMPLES_DIR / source.repo / source.commit / path
    if target.is_file() and _hashes(target)[1] == blob:
        return target
    kind, where = resolve_repository_file(source, path, mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=_TMP_PREFIX) as tmp:
        part = Path(tmp) / 'sample'
        failure = _fetch(kind, where, part, timeout)
        if failure:
            raise DownloadError(f'could not fetch the sample image {path} of {source.repo} from '
                                f'{_describe(kind, where)}: {failure}. Try again.')
        got = _hashes(part)[1]
        if got != blob:
            raise ChecksumError(f'the sample image {path} of {source.repo} fetched from '
                                f'{_describe(kind, where)} has git blob id {got}, expected {blob}')
        _move_into_place(part, target)
    return target


def _run_output_check(release, checkpoint, cache_dir, mirror, timeout, log):
    """Convert ``checkpoint``, derain the release's sample inputs and compare them with its
    results; returns ``[(input path, PSNR)]`` or raises ChecksumError naming the image."""
    import numpy as np
    import torch

    from restorelab.utils.image_io import imread_rgb
    from .building import build_restorer

    check = release.output_check
    log(f'checking released model {release.name!r}: it must reproduce the release\'s results '
        f'for {len(check.samples)} sample image(s) of {check.source.repo}')
    model = build_restorer(resolve_config(release)).eval()
    load_released_weights(model, ReleasedModel(release.name, resolve_config(release),
                                               str(checkpoint), release.converter, release))
    figures = []
    for input_path, input_blob, result_path, result_blob in check.samples:
        rainy = imread_rgb(str(_sample_file(check.source, input_path, input_blob, cache_dir,
                                            mirror, timeout, log)))
        expected = imread_rgb(str(_sample_file(check.source, result_path, result_blob, cache_dir,
                                               mirror, timeout, log)))
        with torch.no_grad():  # the model's own padding, as tools/derain.py runs it; 8-bit rounding
            x = torch.from_numpy(rainy.transpose(2, 0, 1).copy()).float()[None] / 255
            ours = (model.restore(x)[0] * 255).round().clamp(0, 255).byte().numpy().transpose(1, 2, 0)
        mse = np.mean((ours.astype(np.float64) - expected.astype(np.float64)) ** 2)
        psnr = float('inf') if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
        figures.append((input_path, psnr))
        if psnr < check.min_psnr:
            raise ChecksumError(
                f'the file fetched for released model {release.name!r} converts, but it does not '
                f'reproduce the release\'s result for {input_path}: {psnr:.1f} dB against '
                f'{check.source.repo}: {result_path} (at least {check.min_psnr:g} dB after 8-bit '
                'rounding expected). It is not the released model; it was removed and nothing '
                'was added to the cache.')
    return figures


# -------------------------------------------------------------------------------- fetching
def get_released(name, cache_dir=None, mirror=None, timeout=DEFAULT_TIMEOUT, force=False,
                 log=None, accept_new_digest=False):
    """Make released model ``name``'s official file available locally, checked.

    Args:
        name: a manifest name (``list_released()``, ``python tools/zoo.py list``).
        cache_dir: the cache folder (default ``$RESTORELAB_ZOO_CACHE``, else
            ``~/.cache/restorelab/zoo``).
        mirror: replaces ``https://raw.githubusercontent.com/``: a base URL or a local folder
            (default ``$RESTORELAB_ZOO_MIRROR``; see the module doc).
        timeout: seconds without an answer or data before a download is abandoned.
        force: fetch again even when the cache holds the file.
        log: called with one line before a download (default: print to stderr).
        accept_new_digest: for an entry checked by its recorded digest, accept a download
            that differs from the first one (and record the new digest).

    Returns:
        :class:`ReleasedModel` (absolute config path, cached file, converter name).

    Raises:
        UnknownModelError, NotDownloadableError, DownloadError, ChecksumError: all
        :class:`UserInputError`; the message names the model, the source and what to do.
    """
    release = find_release(name)
    if not release.downloadable:
        raise _not_downloadable(release)
    config = resolve_config(release)
    cache = resolve_cache_dir(cache_dir)
    target = cached_path(release, cache)
    records = read_records(cache)
    recorded_only = not release.sha256 and not release.git_blob
    companions = companion_paths(release, cache)
    if (target.is_file() and not force and (not recorded_only or name in records)
            and all(p.is_file() for _, _, p in companions)):
        checks = [(target, _digest_problem(release, *_hashes(target), records))]
        checks += [(p, _companion_problem(p, digest)) for _, digest, p in companions]
        for path, problem in checks:
            if problem:
                raise ChecksumError(
                    f'the cached file of released model {name!r}, {path}, {problem}: it was '
                    f'changed after it was verified. Delete it (or pass force=True / `tools/zoo.py '
                    f'download {name} --force`) to fetch it again.')
        return ReleasedModel(name, config, str(target), release.converter, release)

    kind, where = resolve_source(release, mirror)
    source = _describe(kind, where)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    verb = 'copying' if kind in ('file', 'git') else 'downloading'
    log(f'{verb} released model {name!r} from {source} into {target}')
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=cache, prefix=f'{_TMP_PREFIX}{name}-')
    except OSError as err:
        raise ZooError(f'could not write into the cache folder {cache}: {err}. Choose a writable '
                       f'cache folder with {CACHE_ENV} or cache_dir=.') from None
    try:
        part = Path(tmp) / target.name
        try:
            failure = _fetch(kind, where, part, timeout)
        except OSError as err:  # the cache folder, not the network (reported as failures)
            raise ZooError(f'could not write the download of released model {name!r} into '
                           f'{cache}: {err}. Choose a writable cache folder with {CACHE_ENV} or '
                           'cache_dir=.') from None
        if failure:
            retry = (f'`python tools/zoo.py download {name}`' if kind == 'gdrive' else
                     f'again (offline: set {MIRROR_ENV} to a folder of repository copies)')
            raise DownloadError(
                f'could not {"copy" if verb == "copying" else "download"} released model '
                f'{name!r} from {source}: {failure}. Nothing was written to the cache ({cache}). '
                f'Check the network connection and try {retry}.')
        if _looks_like_a_web_page(part):
            raise DownloadError(
                f'{source} answered with a web page, not the checkpoint of released model '
                f'{name!r} (a Drive quota or sign-in page, or a moved file); it was discarded. '
                f'Try again later, or download it by hand from {release.url} and convert it: '
                f'{release.convert_command}.')
        sha256, blob = _hashes(part)
        problem = _digest_problem(release, sha256, blob, records, accept_new=accept_new_digest)
        if problem:
            advice = ('If you trust the new file, accept it: `python tools/zoo.py download '
                      f'{name} --accept-new-digest` (get_released(..., accept_new_digest=True)).'
                      if recorded_only else
                      f'The transfer was damaged or the source serves another file (check '
                      f'{MIRROR_ENV} if set); try again.')
            raise ChecksumError(
                f'the file fetched for released model {name!r} from {source} ({part.stat().st_size}'
                f' bytes) {problem}. It was discarded: nothing was written to the cache '
                f'({cache}). {advice}')
        fetched = _fetch_companions(release, companions, Path(tmp), mirror, timeout, cache)
        if release.output_check is not None:
            _run_output_check(release, part, cache, mirror, timeout, log)
        if recorded_only:
            _write_record(cache, name, sha256, release.url)
        for done, (_, _, companion) in zip(fetched, companions):  # the main file last: its
            _move_into_place(done, companion)  # presence means the others are there too
        _move_into_place(part, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ReleasedModel(name, config, str(target), release.converter, release)


def _fetch_companions(release, companions, folder, mirror, timeout, cache):
    """Fetch and check ``release``'s companion files into ``folder`` (beside the main file's
    download, under their cache names); returns their paths there."""
    paths = []
    for path, digest, cached in companions:
        kind, where = resolve_repository_file(release.source, path, mirror)
        part = folder / cached.name
        failure = _fetch(kind, where, part, timeout)
        if failure:
            raise DownloadError(
                f'could not fetch {path}, which released model {release.name!r} needs beside its '
                f'main file, from {_describe(kind, where)}: {failure}. Nothing was written to the '
                f'cache ({cache}); try again.')
        problem = _companion_problem(part, digest)
        if problem:
            raise ChecksumError(
                f'{path} of released model {release.name!r} fetched from {_describe(kind, where)} '
                f'{problem}. It was discarded: nothing was written to the cache ({cache}); try '
                'again.')
        paths.append(part)
    return paths


def load_released_weights(model, released):
    """Convert ``released``'s official file with its converter (read with
    ``torch.load(weights_only=True)``) and load it strictly into ``model.arch``."""
    from restorelab.models.converters import load_official_checkpoint

    state_dict = load_official_checkpoint(released.checkpoint, released.converter, arch=model.arch)
    model.arch.load_state_dict(state_dict, strict=True)


# --------------------------------------------------------------------- listing and the docs
def _check_text(release):
    return CHECKS[release.check] if release.check else 'link only: download by hand'


def release_to_dict(release, cache_dir=None):
    """A manifest entry as plain JSON-able data (``tools/zoo.py list --json``)."""
    check = release.output_check
    return dict(
        name=release.name, model=release.model, trained_for=release.trained_for,
        downloadable=release.downloadable, host=release.host, check=release.check,
        cached=is_cached(release, cache_dir), config=release.config,
        converter=release.converter, url=release.url, sha256=release.sha256,
        git_blob=release.git_blob, drive_id=release.drive_id,
        companions=[dict(path=path, digest=digest) for path, digest in release.companions],
        output_check=(dict(repo=check.source.repo, commit=check.source.commit,
                           min_psnr=check.min_psnr,
                           samples=[dict(input=i, result=r) for i, _, r, _ in check.samples])
                      if check else None),
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


_HOSTS = dict(github='GitHub file', url='HTTPS', gdrive='Google Drive')


def markdown_tables():
    """The tables of docs/released_weights.md, from the manifest."""
    lines = ['| name | model | trained for | published PSNR / SSIM | host | file | check |',
             '|---|---|---|---|---|---|---|']
    for r in list_released(True):
        # The file's name links to it; its repository and commit are listed below the tables.
        where = f'[{r.path.rsplit("/", 1)[-1] if r.host == "github" else r.filename}]({r.url})'
        digest = (f' `{r.sha256[:16]}…`' if r.sha256 else
                  f' `{r.git_blob[:16]}…`' if r.git_blob else '')
        for path, companion_digest in r.companions:
            where += f' + {path.rsplit("/", 1)[-1]}'
            digest += f' + `{companion_digest[:16]}…`'
        lines.append(f'| `{r.name}` | {r.model} | {r.trained_for} | {_published(r)} | '
                     f'{_HOSTS[r.host]} | {where} | {r.check}{digest} |')
    lines += ['', '| name | model | trained for | published PSNR / SSIM | download | convert '
              '(after downloading) |', '|---|---|---|---|---|---|']
    for r in list_released(False):
        links = ', '.join(f'[{label}]({url})' for label, url in r.links) or 'none found (note)'
        convert = f'`{r.convert_command}`' if r.links else '—'
        lines.append(f'| `{r.name}` | {r.model} | {r.trained_for} | {_published(r)} | {links} | '
                     f'{convert} |')
    lines += ['', 'Checks:']
    lines += [f'- {kind}: {text}.' for kind, text in CHECKS.items()]
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
