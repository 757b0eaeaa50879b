"""tools/derain.py NAME INPUT and tools/zoo.py against a local HTTP server on 127.0.0.1
serving a generated fixture (tests/fixtures/zoo_server.py); no other network."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from tool_helpers import REPO, run_tool

from restorelab.apis import derain, init_model, zoo
from restorelab.apis.zoo_manifest import RELEASES
from restorelab.utils.image_io import imread_rgb, imwrite_rgb
from tests.fixtures.zoo_server import FIXTURE_NAME, ZooServer, fixture_bytes, fixture_release


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_tool', Path(REPO) / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def served(monkeypatch, tmp_path):
    """The fixture release in the manifest, served through $RESTORELAB_ZOO_MIRROR, with
    $RESTORELAB_ZOO_CACHE in tmp_path."""
    data = fixture_bytes()
    release = fixture_release(data)
    monkeypatch.setitem(RELEASES, release.name, release)
    monkeypatch.setenv(zoo.CACHE_ENV, str(tmp_path / 'cache'))
    with ZooServer() as server:
        server.serve(release, data)
        monkeypatch.setenv(zoo.MIRROR_ENV, server.base)
        yield server


def _photo(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(24, 30, 3), dtype=np.uint8)
    path = tmp_path / 'photo.png'
    imwrite_rgb(str(path), img)
    return path


def test_derain_tool_by_name_end_to_end(served, tmp_path, capsys):
    photo = _photo(tmp_path)
    out = tmp_path / 'out'
    tool = load_tool('derain')
    assert tool.main([FIXTURE_NAME, str(photo), '--out', str(out), '--no-progress']) == 0
    err = capsys.readouterr().err
    assert f"downloading released model '{FIXTURE_NAME}'" in err
    result = imread_rgb(str(out / 'photo.png'))
    np.testing.assert_array_equal(result, derain(init_model(FIXTURE_NAME), str(photo)))
    assert not np.array_equal(result, imread_rgb(str(photo)))
    assert len(served.requests) == 1  # the tool and init_model shared the cached download

    assert tool.main([FIXTURE_NAME, str(photo), '--out', str(out), '--no-progress']) == 0
    assert len(served.requests) == 1


def test_derain_tool_name_errors_exit_2(served, tmp_path, capsys):
    photo = _photo(tmp_path)
    tool = load_tool('derain')
    assert tool.main(['prenet_rain100x', str(photo)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: 'prenet_rain100x' is not a released model name")
    assert 'prenet_rain100h' in err[-1] and 'aidnet_rain100l' in err[-1]
    assert tool.main(['configs/prenet/nope.py', 'ckpt.pth', str(photo)]) == 2
    assert "'configs/prenet/nope.py' does not exist" in capsys.readouterr().err
    assert tool.main([FIXTURE_NAME, 'ckpt.pth', str(photo)]) == 2
    assert 'brings its own weights' in capsys.readouterr().err
    served.mode[next(iter(served.files))] = '404'
    assert tool.main([FIXTURE_NAME, str(photo), '--out', str(tmp_path / 'o')]) == 2
    assert 'HTTP 404' in capsys.readouterr().err.strip().splitlines()[-1]
    assert not list((tmp_path / 'cache').iterdir())


def test_derain_tool_still_takes_config_and_checkpoint_and_refuses_a_lone_config(tmp_path):
    photo = _photo(tmp_path)
    config = 'configs/prenet/prn_r_rain100h.py'
    res = run_tool(['tools/derain.py', config, str(photo)])
    assert res.returncode == 2
    assert 'is a config file: give CONFIG CHECKPOINT INPUT' in res.stderr.strip().splitlines()[-1]
    res = run_tool(['tools/derain.py', config, 'a.pth', 'b.pth', str(photo)])
    assert res.returncode == 2 and 'too many arguments' in res.stderr


def test_zoo_tool_download_list_and_verify(served, tmp_path, capsys):
    tool = load_tool('zoo')
    assert tool.main(['download', FIXTURE_NAME]) == 0
    out = capsys.readouterr().out
    cached = zoo.cached_path(RELEASES[FIXTURE_NAME])
    assert f'{FIXTURE_NAME}: {cached} (sha256 checked)' in out
    assert tool.main(['verify']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == [FIXTURE_NAME, 'ok'] for line in lines)
    assert any(line.split()[:2] == ['prenet_rain100h', 'missing'] for line in lines)
    cached.write_bytes(b'damaged')
    assert tool.main(['verify']) == 1
    assert 'do not match the manifest' in capsys.readouterr().err
    assert tool.main(['download', FIXTURE_NAME, '--force']) == 0
    assert tool.main(['download', 'idt_rain200h']) == 2
    assert 'drive.google.com' in capsys.readouterr().err  # link only: the links are given
    assert tool.main(['list']) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows[FIXTURE_NAME].split()[-3:] == ['file', 'sha256', 'yes']  # host, check, cached
    assert rows['prenet_rain100h'].split()[-1] == '-'
    assert 'Google Drive output check' in ' '.join(rows['drsformer_rain200h'].split())
    assert 'link only see links' in ' '.join(rows['idt_rain200h'].split())
    assert tool.main(['download']) == 2


def test_zoo_tool_list_without_network():
    res = run_tool(['tools/zoo.py', 'list', '--json'])
    assert res.returncode == 0, res.stderr
    entries = {e['name']: e for e in json.loads(res.stdout)}
    assert entries.keys() == RELEASES.keys()
    assert entries['prn_rain100h']['sha256'] == RELEASES['prn_rain100h'].sha256
    assert entries['drsformer_spa_data']['links'][0]['url'].startswith('https://drive.google.com/')
    res = run_tool(['tools/zoo.py', 'list'])
    assert res.returncode == 0 and 'prenet_r_rain100l' in res.stdout
    res = run_tool(['tools/zoo.py', 'list', '--markdown'])
    assert res.stdout == zoo.markdown_tables()
