"""benchmarks/model_costs.py: one record per model, with the counts get_flops.py gives, which
docs/model_zoo.md's models table is rendered from."""
import importlib.util
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(f'bench_{name}', REPO_ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(REPO_ROOT / 'benchmarks'))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO_ROOT / 'benchmarks'))
    return module


def test_every_model_config_exists_and_every_table1_method_it_names_is_published():
    costs, published = _load('model_costs'), _load('published')
    for name, config in costs.MODELS.items():
        assert (REPO_ROOT / config).is_file(), (name, config)
    assert set(published.COSTS) - set(costs.MODELS) <= {'NeRD-Rain'}
    for cells in published.TABLE1.values():
        assert len(cells) == len(published.TABLE1_SETS)


def test_record_of_a_small_model_equals_get_flops(tmp_path, capsys):
    costs = _load('model_costs')
    assert costs.main(['--models', 'PReNet', '--shape', '3', '32', '48', '--results-dir', str(tmp_path)]) == 0
    assert 'PReNet: 168,963 parameters' in capsys.readouterr().out
    record = json.loads((tmp_path / 'cost-prenet.json').read_text())
    for key in ('name', 'script', 'command', 'commit', 'dirty', 'date', 'machine'):
        assert key in record
    res = record['results']
    assert res['config'] == 'configs/prenet/prenet_rain200h.py' and res['shape'] == [3, 32, 48]
    spec = importlib.util.spec_from_file_location('get_flops', REPO_ROOT / 'tools' / 'analysis' / 'get_flops.py')
    get_flops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(get_flops)
    assert get_flops.main([str(REPO_ROOT / res['config']), '--shape', '3', '32', '48']) == 0
    printed = capsys.readouterr().out
    assert f'params: {res["params"]} ' in printed
    assert f'flops: {res["flops"]} ' in printed and res['flops_executed'] == res['flops'] > 0

    report = _load('report')
    table = report.render_models(tmp_path)
    assert '| PReNet | `configs/prenet/prenet_rain200h.py` | 168,963 |' in table
