"""Released weights by name (restorelab.apis.zoo): download once into the cache, sha256
verification, clean failures, mirrors, init_model(NAME), and a well-formed manifest.

Every download goes to a local HTTP server on 127.0.0.1 (tests/fixtures/zoo_server.py)
serving a generated random-weight PRN_r checkpoint; no other network is used."""
import os
import re
import socket
import threading
from urllib.parse import quote
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from restorelab.apis import init_model, zoo
from restorelab.apis.zoo_manifest import RAW_GITHUB, RELEASES
from restorelab.utils.errors import UserInputError
from tests.fixtures.zoo_server import (FIXTURE_NAME, ZooServer, fixture_bytes,
                                       fixture_release, fixture_state_dict, url_path)

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'released_weights.md'
# The twelve releases that are plain files in public git repositories (each with its sha256) and
# DDN's training-code archive (a .zip holding a TensorFlow checkpoint, also by sha256);
# DRSformer's five Google Drive files, MSPFN's Drive file and Restormer's release asset; DualGCN's
# five TensorFlow checkpoints (an .index file by sha256, its .data shard beside it by git blob id).
EXPECTED_SHA256 = {f'{m}_{s}' for m in ('prenet', 'prenet_r', 'prn', 'prn_r', 'brn', 'aidnet')
                   for s in ('rain100h', 'rain100l')} | {'ddn_ddn_data'}
EXPECTED_ELSEWHERE = {f'drsformer_{s}' for s in ('rain200l', 'rain200h', 'did_data', 'ddn_data',
                                                 'spa_data')} | {'restormer_rain13k',
                                                                 'mspfn_m17n1_rain13k'}
EXPECTED_WITH_COMPANIONS = {f'dualgcn_{s}' for s in ('rain200h', 'rain200l', 'did_data',
                                                     'ddn_data', 'spa_data')}
# csdwren/RecDerain's Rain200H/Rain200L files (RESCAN, PReNet, BRN and SPANet retrained by the
# BRN authors), plain files checked by their sha256.
EXPECTED_RECDERAIN_RAIN200 = {f'{m}_{s}' for m in ('rescan', 'prenet', 'brn', 'spanet')
                              for s in ('rain200h', 'rain200l')}
# hongwang01/RCDNet's Pretrained Model/*/model_best.pt, too large to be read from a copy of the
# repository here: checked by their git blob ids.
EXPECTED_RCDNET = {f'rcdnet_{s}' for s in ('rain100l', 'rain100h', 'ddn_data', 'spa_data')}
# cschenxiang/NeRD-Rain's README "Pre-trained Models": one Google Drive file per variant and set,
# checked by the digest recorded at the first download (the repository has no results of its own).
EXPECTED_NERD_RAIN = {f'{v}_{s}' for v in ('nerd_rain', 'nerd_rain_s')
                      for s in ('rain200l', 'rain200h', 'did_data', 'ddn_data', 'spa_data')}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the user's cache or mirror settings."""
    monkeypatch.delenv(zoo.MIRROR_ENV, raising=False)
    monkeypatch.setenv(zoo.CACHE_ENV, str(tmp_path / 'env-cache'))


@pytest.fixture(scope='module')
def data():
    return fixture_bytes()


@pytest.fixture
def release(monkeypatch, data):
    entry = fixture_release(data)
    monkeypatch.setitem(RELEASES, entry.name, entry)
    return entry


@pytest.fixture
def server():
    with ZooServer() as srv:
        yield srv


def _cache_files(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


def _quiet(line):
    pass


def test_download_once_then_from_the_cache(server, release, data, tmp_path, monkeypatch):
    server.serve(release, data)
    cache = tmp_path / 'cache'
    monkeypatch.chdir(tmp_path)  # the config is found in the repository, not the current folder
    lines = []
    got = zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, log=lines.append)
    assert Path(got.checkpoint) == cache / f'{FIXTURE_NAME}-{release.sha256[:8]}.pth'
    assert Path(got.checkpoint).read_bytes() == data
    assert got.config == str(REPO / 'configs' / 'prenet' / 'prn_r_rain100h.py')
    assert got.converter == 'prn_r' and got.release is release
    assert server.requests == [url_path(release)]
    assert len(lines) == 1 and server.base in lines[0] and str(cache) in lines[0]

    again = zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, log=lines.append)
    assert again == got
    assert len(server.requests) == 1 and len(lines) == 1  # served from the cache
    assert _cache_files(cache) == [Path(got.checkpoint).name]

    zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, force=True, log=_quiet)
    assert len(server.requests) == 2


def test_cache_folder_argument_environment_and_default(monkeypatch, tmp_path):
    assert zoo.resolve_cache_dir() == tmp_path / 'env-cache'
    assert zoo.resolve_cache_dir(tmp_path / 'arg') == tmp_path / 'arg'
    monkeypatch.delenv(zoo.CACHE_ENV)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert zoo.resolve_cache_dir() == tmp_path / 'home' / '.cache' / 'restorelab' / 'zoo'


def test_environment_variables_pick_cache_and_mirror(server, release, data, monkeypatch, tmp_path):
    server.serve(release, data)
    monkeypatch.setenv(zoo.MIRROR_ENV, server.base)
    got = zoo.get_released(FIXTURE_NAME, log=_quiet)
    assert Path(got.checkpoint).parent == tmp_path / 'env-cache'
    assert server.requests == [url_path(release)]


def test_sha256_mismatch_is_an_error_and_leaves_no_file(server, release, data, tmp_path):
    server.serve(release, data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    cache = tmp_path / 'cache'
    with pytest.raises(zoo.ChecksumError) as info:
        zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, log=_quiet)
    msg = str(info.value)
    assert isinstance(info.value, UserInputError)
    assert FIXTURE_NAME in msg and server.base + url_path(release)[1:] in msg
    assert release.sha256 in msg and 'discarded' in msg
    assert _cache_files(cache) == []


def test_a_real_entry_through_the_mirror_is_verified_against_the_manifest(server, tmp_path):
    """The URL of a manifest entry maps onto the mirror; another file fails the check."""
    real = RELEASES['prenet_rain100h']
    server.serve(real, fixture_bytes())
    cache = tmp_path / 'cache'
    with pytest.raises(zoo.ChecksumError, match=real.sha256):
        zoo.get_released('prenet_rain100h', cache_dir=cache, mirror=server.base, log=_quiet)
    assert server.requests == ['/csdwren/PReNet/6d908d1e3c7ff5c26fee624112297ad1c8603ca7/'
                               'logs/Rain100H/PReNet6/net_latest.pth']
    assert _cache_files(cache) == []


@pytest.mark.parametrize('mode, expected', [
    ('404', 'HTTP 404 Not Found'),
    ('truncate', 'truncated body'),
    ('slow', 'timeout'),
])
def test_failed_downloads_are_clear_and_leave_no_file(server, release, data, tmp_path, mode,
                                                      expected):
    server.serve(release, data, mode=mode)
    server.delay = 2.0
    cache = tmp_path / 'cache'
    with pytest.raises(zoo.DownloadError) as info:
        zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, timeout=0.5,
                         log=_quiet)
    msg = str(info.value)
    assert expected in msg, msg
    assert FIXTURE_NAME in msg and url_path(release)[1:] in msg and 'try again' in msg
    assert _cache_files(cache) == []


def test_connection_refused(release, tmp_path):
    with socket.socket() as s:  # a port that nothing listens on once closed
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    cache = tmp_path / 'cache'
    with pytest.raises(zoo.DownloadError, match='cannot connect') as info:
        zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=f'http://127.0.0.1:{port}',
                         log=_quiet)
    assert f'http://127.0.0.1:{port}/{url_path(release)[1:]}' in str(info.value)
    assert _cache_files(cache) == []


def test_two_simultaneous_downloads_do_not_corrupt_each_other(server, release, data, tmp_path):
    server.serve(release, data)
    server.barrier = threading.Barrier(2, timeout=20)  # both requests are in flight at once
    cache = tmp_path / 'cache'
    results, errors = [], []

    def fetch():
        try:
            results.append(zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base,
                                            log=_quiet))
        except Exception as err:  # noqa: BLE001  reported below
            errors.append(err)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 2 and len(server.requests) == 2
    assert results[0].checkpoint == results[1].checkpoint
    assert Path(results[0].checkpoint).read_bytes() == data
    assert _cache_files(cache) == [Path(results[0].checkpoint).name]  # no temporary file left


def test_a_damaged_cached_file_is_reported_not_used(server, release, data, tmp_path):
    server.serve(release, data)
    cache = tmp_path / 'cache'
    path = Path(zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base,
                                 log=_quiet).checkpoint)
    path.write_bytes(data[:100])
    with pytest.raises(zoo.ChecksumError, match='changed after it was verified'):
        zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, log=_quiet)
    assert [state for r, _, state in zoo.verify_cache(cache) if r.name == FIXTURE_NAME] == \
        ['sha256 mismatch']
    zoo.get_released(FIXTURE_NAME, cache_dir=cache, mirror=server.base, force=True, log=_quiet)
    assert path.read_bytes() == data
    assert [state for r, _, state in zoo.verify_cache(cache) if r.name == FIXTURE_NAME] == ['ok']


@pytest.mark.parametrize('layout', ['raw', 'clone', 'file-url'])
def test_mirror_folder_of_clones(release, data, tmp_path, layout):
    root = tmp_path / 'mirror'
    if layout == 'clone':  # a clone: <owner>/<repo>/<path>
        target = root / release.source.repo / release.path
    else:  # <owner>/<repo>/<commit>/<path>, as below raw.githubusercontent.com
        target = root / release.source.repo / release.source.commit / release.path
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    mirror = root.as_uri() if layout == 'file-url' else str(root)
    got = zoo.get_released(FIXTURE_NAME, cache_dir=tmp_path / 'cache', mirror=mirror, log=_quiet)
    assert Path(got.checkpoint).read_bytes() == data
    assert Path(got.checkpoint).parent == tmp_path / 'cache'


def test_mirror_folder_checks_the_sha256_and_names_missing_files(release, data, tmp_path):
    root = tmp_path / 'mirror'
    with pytest.raises(zoo.ZooError, match='neither a URL .* nor an existing folder'):
        zoo.get_released(FIXTURE_NAME, cache_dir=tmp_path / 'cache', mirror=str(root), log=_quiet)
    root.mkdir()
    with pytest.raises(zoo.DownloadError, match='not in the mirror folder') as info:
        zoo.get_released(FIXTURE_NAME, cache_dir=tmp_path / 'cache', mirror=str(root), log=_quiet)
    assert str(root / release.source.repo / release.path) in str(info.value)
    clone = root / release.source.repo / release.path
    clone.parent.mkdir(parents=True)
    clone.write_bytes(data + b'x')  # a clone at another commit
    with pytest.raises(zoo.ChecksumError):
        zoo.get_released(FIXTURE_NAME, cache_dir=tmp_path / 'cache', mirror=str(root), log=_quiet)
    assert _cache_files(tmp_path / 'cache') == []


def test_init_model_by_name_downloads_converts_and_loads(server, release, data, monkeypatch,
                                                         tmp_path):
    server.serve(release, data)
    monkeypatch.setenv(zoo.MIRROR_ENV, server.base)
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **k: loads.append(k) or real_load(*a, **k))
    model = init_model(FIXTURE_NAME)
    assert loads and all(k.get('weights_only') is True for k in loads)
    assert type(model.arch).__name__ == 'PRNRecursive' and not model.training
    expected = fixture_state_dict()
    for key, value in model.arch.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    assert model.released.name == FIXTURE_NAME and model.cfg.model.arch.type == 'PRN_r'
    assert _cache_files(tmp_path / 'env-cache') == [Path(model.released.checkpoint).name]
    init_model(FIXTURE_NAME)
    assert len(server.requests) == 1

    with pytest.raises(UserInputError, match='brings its own weights'):
        init_model(FIXTURE_NAME, model.released.checkpoint)


def test_unknown_names_and_missing_files_list_the_known_names():
    with pytest.raises(zoo.UnknownModelError) as info:
        init_model('prenet_rain100x')
    msg = str(info.value)
    assert "'prenet_rain100x' is not a released model name" in msg
    assert "Did you mean 'prenet_rain100l' or 'prenet_rain100h'" in msg
    assert all(name in msg for name in EXPECTED_SHA256 | EXPECTED_ELSEWHERE)
    assert 'idt_rain200h' in msg
    with pytest.raises(zoo.UnknownModelError, match=r"'configs/nope\.py' does not exist"):
        init_model('configs/nope.py')
    with pytest.raises(UserInputError, match="'nope' is not a released model name"):
        zoo.get_released('nope')


def test_link_only_releases_say_where_to_download_and_how_to_convert(tmp_path):
    for name in ('idt_rain200h', 'idt_rain200l'):
        release = RELEASES[name]
        with pytest.raises(zoo.NotDownloadableError) as info:
            init_model(name)
        msg = str(info.value)
        assert all(url in msg for _, url in release.links)
        assert release.convert_command in msg
    with pytest.raises(zoo.NotDownloadableError, match='no weights to download'):
        zoo.get_released('uformer_derain')
    assert _cache_files(tmp_path / 'env-cache') == []


# ---------------------------------------------------------------- the manifest itself
def test_the_fetched_releases_and_their_checks():
    fetched = {r.name for r in zoo.list_released(True)}
    assert EXPECTED_SHA256 | EXPECTED_ELSEWHERE | EXPECTED_WITH_COMPANIONS <= fetched
    assert all(RELEASES[n].check == 'sha256' for n in EXPECTED_SHA256 | EXPECTED_WITH_COMPANIONS)
    assert RELEASES['drsformer_rain200h'].check == 'output check'
    assert {RELEASES[n].check for n in EXPECTED_ELSEWHERE - {'drsformer_rain200h'}} == \
        {'recorded digest'}
    assert {n for n in fetched if RELEASES[n].companions} == EXPECTED_WITH_COMPANIONS
    assert EXPECTED_RECDERAIN_RAIN200 <= fetched
    assert {RELEASES[n].check for n in EXPECTED_RECDERAIN_RAIN200} == {'sha256'}
    assert {RELEASES[n].source.repo for n in EXPECTED_RECDERAIN_RAIN200} == {'csdwren/RecDerain'}
    assert RELEASES['spanet_spa_data'].check == 'sha256' and 'spanet_spa_data' in fetched
    assert EXPECTED_RCDNET <= fetched
    assert {(RELEASES[n].host, RELEASES[n].check) for n in EXPECTED_RCDNET} == {('github', 'git blob')}
    assert RELEASES['rcdnet_rain100l'].url.endswith('/Pretrained%20Model/rain100L/model_best.pt')
    assert EXPECTED_NERD_RAIN <= fetched
    assert {(RELEASES[n].host, RELEASES[n].check, RELEASES[n].converter) for n in EXPECTED_NERD_RAIN} == \
        {('gdrive', 'recorded digest', 'nerd_rain')}
    assert {RELEASES[n].config for n in EXPECTED_NERD_RAIN} == {
        f'projects/nerd_rain/configs/{n}.py' for n in EXPECTED_NERD_RAIN}
    assert len(RELEASES) == len(zoo.list_released(True)) + len(zoo.list_released(False))


@pytest.fixture(scope='module')
def converters():
    from restorelab.models.converters import get_converter, import_project_plugins
    assert import_project_plugins(REPO) == {}  # registers the plugin converters (drsformer)
    return get_converter


@pytest.mark.parametrize('name', sorted(RELEASES))
def test_manifest_entry_is_well_formed(name, converters):
    r = RELEASES[name]
    assert r.name == name and re.fullmatch(r'[a-z0-9_]+', name)
    assert (REPO / r.config).is_file(), f'{name}: config {r.config} missing'
    converter = converters(r.converter)  # raises when not registered
    cfg = Config.fromfile(str(REPO / r.config))
    assert cfg.model.arch.type == converter.arch_type, (name, cfg.model.arch.type)
    assert re.fullmatch(r'[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+', r.source.repo)
    assert re.fullmatch(r'[0-9a-f]{40}', r.source.commit)
    assert r.source.licence and r.training_data and r.published_source
    if r.published is not None:
        psnr, ssim = r.published
        assert 20 < psnr < 60 and 0.5 < ssim < 1
    assert r.convert_command.startswith(f'python tools/convert_checkpoint.py {r.converter} ')
    assert r.convert_command.endswith(f'--check-config {r.config}')
    if r.host == 'github':
        assert (re.fullmatch(r'[0-9a-f]{64}', r.sha256 or '')
                or re.fullmatch(r'[0-9a-f]{40}', r.git_blob or '')), name
        assert r.url == f'{RAW_GITHUB}{r.source.repo}/{r.source.commit}/{quote(r.path)}'
        # Not every release names its files *.pth (RESCAN's train.py saves 'latest').
        assert re.fullmatch(r'https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/\S+',
                            r.url)
        assert not r.links and r.drive_id is None and r.asset_url is None
        for path, digest in r.companions:  # a TensorFlow checkpoint's shard beside its index
            assert r.path.endswith('.index') and path == r.path[:-len('index')] + 'data-00000-of-00001'
            assert re.fullmatch(r'[0-9a-f]{40}|[0-9a-f]{64}', digest)
    elif r.host == 'gdrive':
        assert re.fullmatch(r'[-\w]{25,}', r.drive_id) and r.sha256 is None
        assert any(r.drive_id in url for _, url in r.links)  # the README's own link, for by hand
    elif r.host == 'url':
        assert r.url.startswith('https://') and r.links
    else:
        assert r.sha256 is None and r.path is None and r.url is None and r.check is None
        assert r.links or 'no deraining weights' in r.note
    for _, url in r.links:
        assert re.fullmatch(r'https://(drive\.google\.com|pan\.baidu\.com|github\.com)/\S+', url)
    check = r.output_check
    if check is not None:
        assert check.samples and check.min_psnr >= 50
        for input_path, input_blob, result_path, result_blob in check.samples:
            assert re.fullmatch(r'[0-9a-f]{40}', input_blob) and re.fullmatch(r'[0-9a-f]{40}',
                                                                               result_blob)
            assert input_path != result_path


def test_docs_show_the_manifest():
    """docs/released_weights.md's tables are `python tools/zoo.py list --markdown`, kept in sync."""
    assert zoo.markdown_tables() in DOC.read_text()


def test_release_file_names_in_the_cache_carry_the_hash(release):
    path = zoo.cached_path(release, '/x')
    assert path == Path('/x') / f'{FIXTURE_NAME}-{release.sha256[:8]}.pth'
    assert os.path.basename(zoo.cached_path(RELEASES['prn_rain100h'], '/x')) == \
        'prn_rain100h-f1d56a7d.pth'
