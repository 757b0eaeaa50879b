"""BENCH_CONFIG validation: defaults, dataset configs resolved, and a clear error for every bad
entry (the entry named, what would fit listed)."""
import glob
import os

import pytest

from restorelab.benchmark import BenchConfigError, check_bench_config, select
from restorelab.benchmark.config import entry_ref

MODEL = dict(name='m', config='m.py', checkpoint='m.pth')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RAIN200H = dict(config='configs/_base_/datasets/rain200h.py')


def _cfg(**kw):
    return dict(dict(models=[MODEL], datasets=[RAIN200H]), **kw)


def test_defaults_are_filled_in_and_the_dataset_config_is_read():
    cfg = check_bench_config(_cfg(_helper='ignored'))
    assert cfg['models'] == [MODEL]
    assert cfg['inference'] == dict(pad_mode='reflect', tile=None, tile_overlap=32,
                                    tile_batch_size=1, self_ensemble=False, bf16=False, compile=False,
                                    seed=0, quantize='round')
    assert cfg['cost'] == dict(shape=(3, 256, 256), runs=5, warmup=2)
    (dataset, ) = cfg['datasets']
    assert dataset['name'] == 'Rain200H'  # the config's dataset_name
    assert dataset['loader']['dataset']['data_root'] == 'data/Rain200H'
    assert dataset['loader']['dataset']['data_prefix'] == dict(img='test/input', gt='test/target')
    assert [(m['type'], m['protocol']) for m in dataset['metrics']] == [
        ('PSNR', 'restormer'), ('SSIM', 'restormer')]
    # Each metric's other convention is a column too.
    assert [(c['name'], c['other']) for c in dataset['columns']] == [
        ('PSNR', False), ('SSIM', False), ('PSNR_RGB', True), ('SSIM_RGB', True)]


def test_dataset_overrides():
    cfg = check_bench_config(_cfg(datasets=[dict(
        name='H', config='configs/_base_/datasets/rain100h.py', data_root='/d', protocol='rcdnet',
        cfg_options={'test_dataloader.dataset.layout': 'numbered'})]))
    (dataset, ) = cfg['datasets']
    assert dataset['name'] == 'H' and dataset['loader']['dataset']['data_root'] == '/d'
    assert dataset['loader']['dataset']['layout'] == 'numbered'
    assert {m['protocol'] for m in dataset['metrics']} == {'rcdnet'}


def test_config_file_is_read(tmp_path):
    path = tmp_path / 'bench.py'
    path.write_text("models = [dict(name='identity', type='identity')]\n"
                    "datasets = [dict(config='configs/_base_/datasets/rain200l.py')]\n"
                    "cost = dict(shape=[3, 64, 64])\n")
    cfg = check_bench_config(str(path))
    assert cfg['datasets'][0]['name'] == 'Rain200L' and cfg['cost']['shape'] == (3, 64, 64)
    with pytest.raises(BenchConfigError, match="benchmark config '.*nope.py' does not exist"):
        check_bench_config(str(tmp_path / 'nope.py'))


@pytest.mark.parametrize('change, message', [
    (dict(extra=1), r"unknown top-level key\(s\) \['extra'\]; valid keys: \['models', "
                    r"'datasets', 'inference', 'cost', 'reference'\] \(helper variables must start"),
    (dict(models=[dict(MODEL, chekpoint='x')]),
     r"models\[0\]: unknown key\(s\) \['chekpoint'\]; valid keys: \['name', 'type', 'config', "
     r"'checkpoint', 'convert', 'convert_key', 'backend', 'zoo', 'onnx'\]"),
    (dict(models=[dict(name='m', checkpoint='m.pth')]),
     r"models\[0\] \(m\): model reference \{'checkpoint': 'm.pth'\} is of no known kind"),
    (dict(models=[dict(MODEL, zoo='prenet_rain100h')]),
     r"models\[0\] \(m\): model reference .*: a released reference takes no \['config', "
     r"'checkpoint'\]"),
    (dict(models=[MODEL, MODEL]), r"models\[1\]: the name 'm' is used twice"),
    (dict(models=[dict(MODEL, type='baseline')]), r"type='baseline'; expected 'identity'"),
    (dict(models=[dict(MODEL, backend='tensorrt')]),
     r"backend='tensorrt'; expected one of \('pytorch', 'onnxruntime'\)"),
    (dict(models=[]), '`models` must be a non-empty list'),
    (dict(datasets=[dict(config='configs/_base_/datasets/nope.py')]),
     r"datasets\[0\]: dataset config 'configs/_base_/datasets/nope.py' does not exist; the "
     r'dataset configs are .*rain200h.py'),
    (dict(datasets=[dict(RAIN200H, protocol='matlab')]),
     r"datasets\[0\] \(.*rain200h.py\): unknown evaluation protocol 'matlab'"),
    (dict(datasets=[dict(RAIN200H, root='x')]),
     r"datasets\[0\]: unknown key\(s\) \['root'\]; valid keys: \['name', 'config', 'data_root', "
     r"'protocol', 'cfg_options'\]"),
    (dict(datasets=[dict(RAIN200H, cfg_options={'test_evaluator': [dict(type='PSNRR')]})]),
     r"test_evaluator names the unknown metric 'PSNRR'; registered metrics: .*NIQE, PSNR, SSIM"),
    (dict(datasets=[RAIN200H, RAIN200H]), r"datasets\[1\]: the name 'Rain200H' is used twice"),
    (dict(inference=dict(tile=100, tile_overlap=200)),
     'inference: inference.tile_overlap=200 must be smaller than inference.tile=100'),
    (dict(inference=dict(ensemble=True)), r"inference: unknown key\(s\) \['ensemble'\]"),
    (dict(inference=dict(seed=None)), 'inference.seed must be an int'),
    (dict(inference=dict(quantize='floor')),
     r"inference.quantize: unknown output quantisation 'floor'; expected one of \('round', "
     r"'truncate'\)"),
    (dict(cost=dict(shape=(256, 256))), r'cost.shape must be \(C, H, W\)'),
    (dict(cost=dict(runs=0)), 'cost.runs must be an int >= 1'),
    (dict(reference='other'), r"reference='other' is not a model of the config; the models are "
                              r"\['m'\]"),
])
def test_bad_entries_are_clear_errors(change, message):
    with pytest.raises(BenchConfigError, match=message):
        check_bench_config(_cfg(**change))


def test_missing_section_is_named():
    with pytest.raises(BenchConfigError, match='`datasets` is missing'):
        check_bench_config(dict(models=[MODEL]))


def test_select_keeps_config_order_and_rejects_unknown_names():
    entries = [dict(name='a'), dict(name='b'), dict(name='c')]
    assert select(entries, None, 'models') == entries
    assert select(entries, 'c, a', 'models') == [dict(name='a'), dict(name='c')]
    with pytest.raises(BenchConfigError, match=r"--datasets: unknown name\(s\) \['x'\]; the "
                       r"config lists \['a', 'b', 'c'\]"):
        select(entries, ['a', 'x'], 'datasets')


def test_per_dataset_files_must_name_listed_datasets():
    ok = dict(MODEL, checkpoint=dict(Rain200H='h.pth'))
    (model, ) = check_bench_config(_cfg(models=[ok]))['models']
    assert entry_ref(model, 'Rain200H') == dict(config='m.py', checkpoint='h.pth')
    bad = dict(MODEL, config=dict(Rain200L='l.py'))
    with pytest.raises(BenchConfigError, match=r"models\[0\] \(m\): config names unknown "
                       r"dataset\(s\) \['Rain200L'\]; the datasets are \['Rain200H'\]"):
        check_bench_config(_cfg(models=[bad]))
    with pytest.raises(BenchConfigError, match='checkpoint must be a file path or name'):
        check_bench_config(_cfg(models=[dict(MODEL, checkpoint=dict(Rain200H=None))]))


@pytest.mark.parametrize('path', sorted(
    glob.glob(os.path.join(REPO, 'configs', 'benchmarks', '*.py')) +
    glob.glob(os.path.join(REPO, 'projects', '*', 'configs', 'benchmarks', '*.py'))),
    ids=os.path.basename)
def test_shipped_benchmark_configs_are_valid_and_their_models_build(path):
    """Every shipped BENCH_CONFIG passes the check (every model reference resolves: configs
    exist, released names are known, without downloading), its sets are dataset configs of
    configs/_base_/datasets/, each model's config builds its model, and the converter it names
    (convert=, or the released model's) is registered and fits that config's arch."""
    from mmengine import Config
    from mmengine.registry import DefaultScope

    import torch

    from restorelab.apis import model_ref
    from restorelab.apis.zoo import find_release, resolve_config
    from restorelab.models.converters import get_converter
    from restorelab.registry import MODELS

    cfg = check_bench_config(path)
    assert all(os.path.dirname(d['config']).endswith(os.path.join('configs', '_base_', 'datasets'))
               for d in cfg['datasets'])
    built = {}
    for model in cfg['models']:
        sets = [s for k in ('config', 'checkpoint', 'zoo') if isinstance(model.get(k), dict)
                for s in model[k]] or [None]
        for dataset in dict.fromkeys(sets):
            ref = model_ref(entry_ref(model, dataset))
            if ref['kind'] == 'identity':
                continue
            config = (resolve_config(find_release(ref['zoo'])) if ref['kind'] == 'released'
                      else ref['config'])
            converter = (find_release(ref['zoo']).converter if ref['kind'] == 'released'
                         else ref['convert'])
            arch = Config.fromfile(config).model.arch
            arch_type = arch.type
            key = repr(sorted(arch.to_dict().items()))
            if key not in built:  # each arch once (sets share them), on the meta device if it can
                with DefaultScope.overwrite_default_scope('restorelab'):
                    try:
                        with torch.device('meta'):
                            built[key] = MODELS.build(arch)
                    except NotImplementedError:  # an arch that computes a value in __init__
                        built[key] = MODELS.build(arch)
            with DefaultScope.overwrite_default_scope('restorelab'):
                assert isinstance(built[key], MODELS.get(arch_type)), config
            if converter:
                assert get_converter(converter).arch_type == arch_type, (model['name'], dataset)


@pytest.mark.slow  # a full-size Uformer on the CPU
def test_paper_table1_runs_as_shipped_on_generated_data(tmp_path, monkeypatch):
    """configs/benchmarks/paper_table1.py unchanged, run with --limit 2 from a folder holding a
    generated Rain200H (data/Rain200H) and random Uformer weights where the config expects the
    user's checkpoint: the rainy input and Uformer are scored, the sets without data fail."""
    import numpy as np
    import torch

    from restorelab.apis import load_restorer
    from restorelab.benchmark import run_benchmark
    from restorelab.utils.image_io import imwrite_rgb

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    for i in range(1, 4):
        clean = rng.integers(40, 200, (20, 28, 3), dtype=np.uint8)
        imwrite_rgb(str(tmp_path / 'data/Rain200H/test/target' / f'{i}.png'), clean)
        imwrite_rgb(str(tmp_path / 'data/Rain200H/test/input' / f'{i}.png'),
                    np.maximum(clean, (rng.random((20, 28, 1)) > 0.9) * 250).astype(np.uint8))
    torch.manual_seed(0)
    model = load_restorer(dict(config=os.path.join(REPO, 'configs/uformer/uformer_rain200h.py')))
    os.makedirs(tmp_path / 'checkpoints/uformer')
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'checkpoints/uformer/rain200h.pth')
    monkeypatch.chdir(tmp_path)
    results = run_benchmark(os.path.join(REPO, 'configs/benchmarks/paper_table1.py'), 'out',
                            models='Input,Uformer', datasets='Rain200H,Rain200L', limit=2,
                            progress=False, log=lambda *a: None, measure_costs=False)
    cells = results['cells']
    for name in ('Input', 'Uformer'):
        assert cells[f'{name}|Rain200H']['status'] == 'ok', cells[f'{name}|Rain200H']
        assert [r['key'] for r in cells[f'{name}|Rain200H']['images']] == ['1', '2']
        assert set(cells[f'{name}|Rain200H']['mean']) >= {'PSNR', 'SSIM', 'PSNR_RGB', 'SSIM_RGB'}
        assert cells[f'{name}|Rain200L']['status'] == 'failed'
    assert cells['Uformer|Rain200H']['mean'] != cells['Input|Rain200H']['mean']
