"""Released weights from every host restorelab fetches from, and every check a file gets:
Google Drive through gdown (a local server plays Drive: direct file, large-file confirmation
page, quota and sign-in pages, a broken transfer), git blob ids, the output check against a
release's own results, the recorded digest, and mirror folders of bare git repositories.
No test reaches the internet: Drive is played on 127.0.0.1 behind HTTPS_PROXY, with a
certificate made for the test (tests/fixtures/drive_server.py)."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restorelab.apis import init_model, restore_image, zoo
from restorelab.apis.zoo_manifest import RELEASES, OutputCheck
from restorelab.utils.errors import UserInputError
from tests.fixtures.drive_server import DriveServer, openssl_available
from tests.fixtures.zoo_server import (FIXTURE_SOURCE, ZooServer, fixture_bytes, fixture_release,
                                       git_blob_id)

pytestmark = pytest.mark.usefixtures('single_thread')
DRIVE_ID = '1FixtureDriveFileIdForTests000'
SAMPLE_INPUT, SAMPLE_RESULT = 'samples/rain/1.png', 'samples/results/1.png'


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv(zoo.MIRROR_ENV, raising=False)
    monkeypatch.setenv(zoo.CACHE_ENV, str(tmp_path / 'cache'))


def _quiet(line):
    pass


def _cache_files(cache):
    """What a user sees in the cache: files and folders, temporary ones included."""
    return sorted(p.name for p in Path(cache).iterdir()) if Path(cache).exists() else []


def drive_release(**changes):
    base = fixture_release(fixture_bytes())
    entry = dataclasses.replace(
        base, name='fixture_drive_prn_r', path=None, sha256=None, drive_id=DRIVE_ID,
        link_file='PRN6_r.pth',
        links=(('Google Drive', f'https://drive.google.com/file/d/{DRIVE_ID}/view'),))
    return dataclasses.replace(entry, **changes)


@pytest.fixture
def drive(tmp_path, monkeypatch):
    pytest.importorskip('gdown', reason="gdown is installed by `make test` (pip install -e '.[zoo]')")
    if not openssl_available():
        pytest.fail('openssl is needed to make the test certificate of the local Drive server')
    with DriveServer(tmp_path) as server:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        yield server


def _register(monkeypatch, release):
    monkeypatch.setitem(RELEASES, release.name, release)
    return release


# --------------------------------------------------------------------------- Google Drive
@pytest.mark.parametrize('mode', ['direct', 'confirm'])
def test_drive_file_is_fetched_recorded_and_then_served_from_the_cache(drive, monkeypatch,
                                                                       tmp_path, mode):
    release = _register(monkeypatch, drive_release())
    data = fixture_bytes()
    drive.serve(DRIVE_ID, data, mode=mode)
    lines = []
    got = zoo.get_released(release.name, log=lines.append)
    assert Path(got.checkpoint) == tmp_path / 'cache' / 'fixture_drive_prn_r.pth'
    assert Path(got.checkpoint).read_bytes() == data
    assert "downloading released model 'fixture_drive_prn_r' from Google Drive" in lines[0]
    hosts = [host for host, _ in drive.requests]
    assert hosts[0] == 'drive.google.com' and hosts[-1] == 'drive.usercontent.google.com'
    if mode == 'confirm':  # the large-file page was followed to the file
        assert 'confirm=t' in drive.requests[-1][1]
    record = json.loads((tmp_path / 'cache' / zoo.RECORD_FILE).read_text())
    assert record['fixture_drive_prn_r']['sha256'] == zoo.file_sha256(got.checkpoint)
    assert record['fixture_drive_prn_r']['source'] == release.url
    requests = len(drive.requests)
    assert zoo.get_released(release.name, log=lines.append) == got
    assert len(drive.requests) == requests and len(lines) == 1
    assert _cache_files(tmp_path / 'cache') == ['fixture_drive_prn_r.pth', zoo.RECORD_FILE]
    assert [s for r, _, s in zoo.verify_cache() if r.name == release.name] == ['ok']


def test_a_later_download_that_differs_from_the_record_is_refused_unless_accepted(
        drive, monkeypatch, tmp_path):
    release = _register(monkeypatch, drive_release())
    first = fixture_bytes(seed=0)
    drive.serve(DRIVE_ID, first)
    path = Path(zoo.get_released(release.name, log=_quiet).checkpoint)
    drive.serve(DRIVE_ID, fixture_bytes(seed=1))  # the file at the source was replaced
    with pytest.raises(zoo.ChecksumError) as info:
        zoo.get_released(release.name, force=True, log=_quiet)
    msg = str(info.value)
    assert 'the first download, recorded on' in msg and zoo.file_sha256(path) in msg
    assert '--accept-new-digest' in msg and 'discarded' in msg
    assert path.read_bytes() == first  # the checked file stays
    assert _cache_files(tmp_path / 'cache') == ['fixture_drive_prn_r.pth', zoo.RECORD_FILE]
    zoo.get_released(release.name, force=True, accept_new_digest=True, log=_quiet)
    assert path.read_bytes() == fixture_bytes(seed=1)
    record = json.loads((tmp_path / 'cache' / zoo.RECORD_FILE).read_text())
    assert record[release.name]['sha256'] == zoo.file_sha256(path)


@pytest.mark.parametrize('mode, expected', [
    ('quota', 'download quota is used up'),
    ('permission', 'not shared publicly'),
    ('truncate', 'the transfer broke'),
    ('html', 'answered with a web page, not the checkpoint'),
])
def test_drive_failures_are_named_and_leave_nothing(drive, monkeypatch, tmp_path, mode, expected):
    release = _register(monkeypatch, drive_release())
    drive.serve(DRIVE_ID, fixture_bytes(), mode=mode)
    with pytest.raises(zoo.DownloadError) as info:
        zoo.get_released(release.name, log=_quiet)
    msg = str(info.value)
    assert isinstance(info.value, UserInputError)
    assert expected in msg and release.name in msg, msg
    if mode != 'html':
        assert 'python tools/zoo.py download fixture_drive_prn_r' in msg  # what to retry
    assert _cache_files(tmp_path / 'cache') == []  # no partial file, no record


def test_missing_gdown_is_a_clear_message(monkeypatch, tmp_path):
    release = _register(monkeypatch, drive_release())
    monkeypatch.setitem(sys.modules, 'gdown', None)  # import gdown raises ImportError
    with pytest.raises(zoo.DownloadError, match=r"pip install -e '\.\[zoo\]'"):
        zoo.get_released(release.name, log=_quiet)
    assert _cache_files(tmp_path / 'cache') == []


# ----------------------------------------------------------------------- the output check
def imencode_png_rgb(img):
    return cv2.imencode('.png', np.ascontiguousarray(img[..., ::-1]))[1].tobytes()


def _sample_pair(seed=0):
    """A generated rainy input and the PRN_r fixture weights' rounded output for it."""
    rng = np.random.default_rng(0)
    rainy = rng.integers(0, 256, size=(20, 28, 3), dtype=np.uint8)
    model = init_model(str(zoo.REPO_ROOT / 'configs/prenet/prn_r_rain100h.py'))
    from tests.fixtures.zoo_server import fixture_state_dict
    model.arch.load_state_dict(fixture_state_dict(seed))
    return imencode_png_rgb(rainy), imencode_png_rgb(restore_image(model, rainy))


@pytest.fixture
def checked_release(drive, monkeypatch):
    """A Drive release whose output check reads a sample and its result from a served
    repository (the release's own results: the fixture weights' output)."""
    rainy, result = _sample_pair()
    check = OutputCheck(FIXTURE_SOURCE, ((SAMPLE_INPUT, git_blob_id(rainy), SAMPLE_RESULT,
                                          git_blob_id(result)),))
    release = _register(monkeypatch, drive_release(output_check=check))
    with ZooServer() as server:
        for path, data in ((SAMPLE_INPUT, rainy), (SAMPLE_RESULT, result)):
            server.serve_path(f'/{FIXTURE_SOURCE.repo}/{FIXTURE_SOURCE.commit}/{path}', data)
        monkeypatch.setenv(zoo.MIRROR_ENV, server.base)
        yield release, server


def test_output_check_passes_for_the_released_weights(checked_release, drive, tmp_path):
    release, server = checked_release
    drive.serve(DRIVE_ID, fixture_bytes(seed=0))
    lines = []
    got = zoo.get_released(release.name, log=lines.append)
    assert any("must reproduce the release's results for 1 sample image" in ln for ln in lines)
    assert Path(got.checkpoint).is_file() and len(server.requests) == 2
    assert sorted(_cache_files(tmp_path / 'cache')) == sorted(
        ['fixture_drive_prn_r.pth', zoo.RECORD_FILE, zoo.SAMPLES_DIR])
    model = init_model(release.name)  # by name, from the cache
    assert model.released.name == release.name


def test_weights_that_fail_the_output_check_are_removed(checked_release, drive, tmp_path):
    release, _ = checked_release
    drive.serve(DRIVE_ID, fixture_bytes(seed=1))  # converts fine, but other weights
    with pytest.raises(zoo.ChecksumError) as info:
        zoo.get_released(release.name, log=_quiet)
    msg = str(info.value)
    assert SAMPLE_INPUT in msg and SAMPLE_RESULT in msg and ' dB against ' in msg
    assert 'at least 50 dB' in msg and 'removed' in msg
    cache = tmp_path / 'cache'
    assert not (cache / 'fixture_drive_prn_r.pth').exists()
    assert not (cache / zoo.RECORD_FILE).exists()  # nothing recorded for a refused file
    assert not [p for p in cache.iterdir() if p.name.startswith('.tmp-')]


# -------------------------------------------------------------------- git blobs and mirrors
def _git(*args, cwd=None):
    return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path):
    """A git repository holding the fixture file (and a big unrelated file), and its commit."""
    work = tmp_path / 'work'
    data = fixture_bytes()
    target = work / 'logs' / 'net_latest.pth'
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    _git('init', '-q', str(work))
    _git('-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A', cwd=work)
    _git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'weights', cwd=work)
    return work, _git('rev-parse', 'HEAD', cwd=work), data


def _blob_release(commit, data, **changes):
    base = fixture_release(data)
    source = dataclasses.replace(FIXTURE_SOURCE, commit=commit)
    return dataclasses.replace(base, name='fixture_blob_prn_r', source=source,
                               path='logs/net_latest.pth', sha256=None,
                               git_blob=git_blob_id(data), **changes)


def test_git_blob_id_checks_a_download(monkeypatch, tmp_path):
    data = fixture_bytes()
    release = _register(monkeypatch, _blob_release('a' * 40, data))
    assert release.check == 'git blob'
    with ZooServer() as server:
        server.serve(release, data)
        got = zoo.get_released(release.name, mirror=server.base, log=_quiet)
        assert Path(got.checkpoint).name == f'fixture_blob_prn_r-{release.git_blob[:8]}.pth'
        server.serve(release, data[:-1] + bytes([data[-1] ^ 1]))
        with pytest.raises(zoo.ChecksumError, match=f'expected {release.git_blob}'):
            zoo.get_released(release.name, mirror=server.base, force=True, log=_quiet)
    assert Path(got.checkpoint).read_bytes() == data


@pytest.mark.parametrize('kind', ['mirror', 'bare', 'clone'])
def test_mirror_folder_of_git_repositories_reads_the_pinned_commit(repository, monkeypatch,
                                                                    tmp_path, kind):
    work, commit, data = repository
    release = _register(monkeypatch, _blob_release(commit, data))
    root = tmp_path / 'mirrors' / 'restorelab-tests'
    root.mkdir(parents=True)
    if kind == 'mirror':
        _git('clone', '-q', '--mirror', str(work), str(root / 'fixture.git'))
    elif kind == 'bare':
        _git('clone', '-q', '--bare', str(work), str(root / 'fixture'))
    else:  # a clone whose work tree has moved on: the file is read at the pinned commit
        _git('clone', '-q', str(work), str(root / 'fixture'))
        (root / 'fixture' / 'logs' / 'net_latest.pth').write_bytes(b'another file')
    lines = []
    got = zoo.get_released(release.name, mirror=str(tmp_path / 'mirrors'), log=lines.append)
    assert Path(got.checkpoint).read_bytes() == data
    assert lines[0].startswith("copying released model 'fixture_blob_prn_r' from ")
    assert f'({commit[:7]}:logs/net_latest.pth)' in lines[0]


def test_a_mirror_repository_without_the_commit_says_so(repository, monkeypatch, tmp_path):
    work, commit, data = repository
    release = _register(monkeypatch, _blob_release('b' * 40, data))
    root = tmp_path / 'mirrors' / 'restorelab-tests'
    root.mkdir(parents=True)
    _git('clone', '-q', '--mirror', str(work), str(root / 'fixture.git'))
    with pytest.raises(zoo.DownloadError) as info:
        zoo.get_released(release.name, mirror=str(tmp_path / 'mirrors'), log=_quiet)
    msg = str(info.value)
    assert f'it lacks commit {"b" * 40}' in msg and 'git clone --mirror' in msg
    assert _cache_files(tmp_path / 'cache') == []


def test_companion_files_are_fetched_checked_and_kept_beside_the_main_file(monkeypatch, tmp_path):
    """A TensorFlow release's data shard beside its .index (Release.companions): fetched from the
    same repository, checked by its git blob id, cached under the main file's name."""
    data, shard = fixture_bytes(), b'tensor bytes of the shard' * 100
    base = _blob_release('c' * 40, data)
    release = _register(monkeypatch, dataclasses.replace(
        base, path='models/model-Set.index',
        companions=(('models/model-Set.data-00000-of-00001', git_blob_id(shard)),)))
    with ZooServer() as server:
        server.serve(release, data)
        shard_url = f'/{release.source.repo}/{release.source.commit}/models/model-Set.data-00000-of-00001'
        server.serve_path(shard_url, shard[:-1] + b'?')  # a damaged shard: nothing is cached
        with pytest.raises(zoo.ChecksumError, match='model-Set.data-00000-of-00001 of released'):
            zoo.get_released(release.name, mirror=server.base, log=_quiet)
        assert _cache_files(tmp_path / 'cache') == []
        server.serve_path(shard_url, shard)
        got = Path(zoo.get_released(release.name, mirror=server.base, log=_quiet).checkpoint)
        beside = got.with_name(got.stem + '.data-00000-of-00001')
        assert beside.read_bytes() == shard and zoo.is_cached(release)
        assert [s for r, _, s in zoo.verify_cache() if r.name == release.name] == ['ok']
        beside.write_bytes(b'changed')
        assert [s for r, _, s in zoo.verify_cache() if r.name == release.name] == [
            f'{beside.name} mismatch']
        with pytest.raises(zoo.ChecksumError, match='changed after it was verified'):
            zoo.get_released(release.name, mirror=server.base, log=_quiet)
