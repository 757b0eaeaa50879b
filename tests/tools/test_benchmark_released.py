"""Benchmark model entries that name a released model (zoo=...): fetched through the mirror,
verified, converted, and scored exactly as the same file given as config + checkpoint."""
import os

import numpy as np
import pytest

from restorelab.apis import zoo
from restorelab.apis.zoo_manifest import RELEASES
from restorelab.benchmark import BenchConfigError, check_bench_config, run_benchmark
from restorelab.utils.image_io import imwrite_rgb
from tests.fixtures.zoo_server import FIXTURE_NAME, fixture_bytes, fixture_release

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def released(monkeypatch, tmp_path):
    """The fixture release in the manifest, served from a mirror folder, cached in tmp."""
    data = fixture_bytes()
    entry = fixture_release(data)
    monkeypatch.setitem(RELEASES, entry.name, entry)
    mirror = tmp_path / 'mirror' / entry.source.repo / entry.source.commit / entry.path
    mirror.parent.mkdir(parents=True)
    mirror.write_bytes(data)
    monkeypatch.setenv(zoo.MIRROR_ENV, str(tmp_path / 'mirror'))
    monkeypatch.setenv(zoo.CACHE_ENV, str(tmp_path / 'cache'))
    return mirror


def _paired_set(root, n=3):
    rng = np.random.default_rng(5)
    for i in range(1, n + 1):
        clean = rng.integers(40, 200, (24, 30, 3), dtype=np.uint8)
        rain = clean.copy()
        rain[:, ::6] = 245
        imwrite_rgb(os.path.join(root, 'test', 'input', f'{i}.png'), rain)
        imwrite_rgb(os.path.join(root, 'test', 'target', f'{i}.png'), clean)
    return str(root)


def _set(data_root):
    return dict(name='Set', config='configs/_base_/datasets/rain200h.py', data_root=data_root,
                protocol='rcdnet', cfg_options={'test_dataloader.num_workers': 0})


def test_released_entry_equals_the_same_file_as_config_and_checkpoint(released, tmp_path):
    data_root = _paired_set(tmp_path / 'set')
    bench = dict(
        models=[dict(name='by-name', zoo=dict(Set=FIXTURE_NAME)),
                dict(name='by-file', config=os.path.join(REPO, 'configs/prenet/prn_r_rain100h.py'),
                     checkpoint=str(released), convert='prn_r')],
        datasets=[_set(data_root)], cost=dict(shape=(3, 16, 16), runs=1, warmup=0))
    results = run_benchmark(bench, str(tmp_path / 'out'), progress=False, log=lambda *a: None)
    by_name, by_file = results['cells']['by-name|Set'], results['cells']['by-file|Set']
    assert by_name['status'] == 'ok' and by_name['num_images'] == 3
    assert by_name['images'] == by_file['images']
    assert results['cost']['by-name']['params'] == results['cost']['by-file']['params'] == 21_123
    cached = os.listdir(tmp_path / 'cache')
    assert cached == [f'{FIXTURE_NAME}-{zoo.find_release(FIXTURE_NAME).sha256[:8]}.pth']


def test_released_names_are_checked_before_anything_runs(released):
    base = dict(datasets=[_set('d')])
    cfg = check_bench_config(dict(base, models=[dict(name='P', zoo=FIXTURE_NAME)]))
    assert cfg['models'][0] == dict(name='P', zoo=FIXTURE_NAME)
    with pytest.raises(BenchConfigError, match=r"models\[0\] \(P\): 'prenet_rain100' is not a "
                       r"released model name.*prenet_rain100h"):
        check_bench_config(dict(base, models=[dict(name='P', zoo='prenet_rain100')]))
    with pytest.raises(BenchConfigError, match=r"'idt_rain200h' .*cannot be fetched and checked "
                       r"automatically.*then convert it"):
        check_bench_config(dict(base, models=[dict(name='D', zoo='idt_rain200h')]))
    with pytest.raises(BenchConfigError, match=r"models\[0\] \(P\): zoo names unknown dataset\(s\) "
                       r"\['Rain100L'\]; the datasets are \['Set'\]"):
        check_bench_config(dict(base, models=[dict(name='P', zoo=dict(Rain100L=FIXTURE_NAME))]))
    with pytest.raises(BenchConfigError, match=r"a released reference takes no \['checkpoint'\]"):
        check_bench_config(dict(base, models=[dict(name='P', zoo=FIXTURE_NAME,
                                                   checkpoint='x.pth')]))


def test_a_failed_download_fails_the_cell_not_the_run(released, tmp_path):
    released.write_bytes(b'not the released file')
    data_root = _paired_set(tmp_path / 'set', n=1)
    bench = dict(models=[dict(name='Rainy', type='identity'), dict(name='P', zoo=FIXTURE_NAME)],
                 datasets=[_set(data_root)])
    results = run_benchmark(bench, str(tmp_path / 'out'), progress=False, log=lambda *a: None,
                            measure_costs=False)
    assert results['cells']['Rainy|Set']['status'] == 'ok'
    cell = results['cells']['P|Set']
    # The checksum error, as its message (a user-facing error is recorded without its type).
    assert cell['status'] == 'failed' and cell['reason'].startswith('model did not load: the file '
                                                                    f'fetched for released model {FIXTURE_NAME!r}')
    assert 'expected ' + zoo.find_release(FIXTURE_NAME).sha256 in cell['reason']
    assert 'The transfer was damaged' in cell['reason']
