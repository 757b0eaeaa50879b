"""BENCH_CONFIG validation: defaults, and a clear error for every bad entry."""
import glob
import os

import pytest

from restorelab.benchmark import BenchConfigError, check_bench_config, select

MODEL = dict(name='m', config='m.py', checkpoint='m.pth')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAIRED = dict(name='Rain200H', type='paired', data_root='data/Rain200H',
              data_prefix=dict(img='test/input', gt='test/target'), protocol='restormer')


def _cfg(**kw):
    return dict(dict(models=[MODEL], datasets=[PAIRED]), **kw)


def test_defaults_are_filled_in():
    cfg = check_bench_config(_cfg(_helper='ignored'))
    assert cfg['models'] == [dict(MODEL, type='model', convert=None, convert_key=None, backend='pytorch')]
    assert cfg['datasets'] == [dict(PAIRED, crop_border=0)]
    assert cfg['inference'] == dict(pad_mode='reflect', tile=None, tile_overlap=32,
                                    tile_batch_size=1, self_ensemble=False, bf16=False, compile=False,
                                    seed=0, quantize='round')
    assert cfg['cost'] == dict(shape=(3, 256, 256), runs=5, warmup=2)
    unpaired = check_bench_config(_cfg(datasets=[dict(name='Real', type='unpaired',
                                                      data_root='real')]))['datasets'][0]
    assert unpaired == dict(name='Real', type='unpaired', data_root='real', niqe_params=None,
                            niqe_convert_to='y', brisque_params=None, brisque_range=None,
                            brisque_convert_to='gray', crop_border=0)


def test_config_file_is_read(tmp_path):
    path = tmp_path / 'bench.py'
    path.write_text("_root = 'data'\nmodels = [dict(name='identity', type='identity')]\n"
                    "datasets = [dict(name='A', data_root=_root + '/A', protocol='rcdnet')]\n"
                    "cost = dict(shape=[3, 64, 64])\n")
    cfg = check_bench_config(str(path))
    assert cfg['datasets'][0]['data_root'] == 'data/A' and cfg['datasets'][0]['type'] == 'paired'
    assert cfg['cost']['shape'] == (3, 64, 64)
    with pytest.raises(BenchConfigError, match="benchmark config '.*nope.py' does not exist"):
        check_bench_config(str(tmp_path / 'nope.py'))


@pytest.mark.parametrize('change, message', [
    (dict(extra=1), r"unknown top-level key\(s\) \['extra'\]; valid keys: \['models', "
                    r"'datasets', 'inference', 'cost'\] \(helper variables must start with"),
    (dict(models=[dict(MODEL, chekpoint='x')]),
     r"models\[0\]: unknown key\(s\) \['chekpoint'\]; valid keys: \['name', 'config', "
     r"'checkpoint', 'type', 'convert', 'convert_key', 'backend'\]"),
    (dict(models=[dict(name='m', config='m.py')]),
     r"models\[0\]: missing key\(s\) \['checkpoint'\]"),
    (dict(models=[MODEL, MODEL]), r"models\[1\]: the name 'm' is used twice"),
    (dict(models=[dict(MODEL, type='baseline')]),
     r"models\[0\]: type='baseline'; expected one of \('model', 'released', 'identity'\)"),
    (dict(models=[]), '`models` must be a non-empty list'),
    (dict(datasets=[dict(PAIRED, protocol='matlab')]),
     r"datasets\[0\] \(Rain200H\): unknown evaluation protocol 'matlab'"),
    (dict(datasets=[dict(PAIRED, niqe_params='x.npz')]),
     r"datasets\[0\]: unknown key\(s\) \['niqe_params'\]; valid keys: \['name', 'data_root', "
     r"'protocol', 'type', 'data_prefix', 'filename_tmpl', 'ann_file', 'side_by_side', "
     r"'allow_unused_gt', 'crop_border'\]"),
    (dict(datasets=[dict(PAIRED, crop_border=4)]), 'crop_border=4 is not part of'),
    (dict(inference=dict(tile=100, tile_overlap=200)),
     'inference: inference.tile_overlap=200 must be smaller than inference.tile=100'),
    (dict(inference=dict(ensemble=True)), r"inference: unknown key\(s\) \['ensemble'\]"),
    (dict(inference=dict(seed=None)), 'inference.seed must be an int'),
    (dict(inference=dict(quantize='floor')),
     r"inference.quantize: unknown output quantisation 'floor'; expected one of \('round', "
     r"'truncate'\)"),
    (dict(datasets=[dict(name='Real', type='unpaired', data_root='r', brisque_range='allrange')]),
     r'datasets\[0\] \(Real\): brisque_range goes with brisque_params'),
    (dict(datasets=[dict(name='Real', type='unpaired', data_root='r', brisque_convert_to='rgb')]),
     r"datasets\[0\] \(Real\): brisque_convert_to must be 'y' or 'gray', got 'rgb'"),
    (dict(cost=dict(shape=(256, 256))), r'cost.shape must be \(C, H, W\)'),
    (dict(cost=dict(runs=0)), 'cost.runs must be an int >= 1'),
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
    assert check_bench_config(_cfg(models=[ok]))['models'][0]['checkpoint'] == dict(
        Rain200H='h.pth')
    bad = dict(MODEL, config=dict(Rain200L='l.py'))
    with pytest.raises(BenchConfigError, match=r"models\[0\] \(m\): config names unknown "
                       r"dataset\(s\) \['Rain200L'\]; the datasets are \['Rain200H'\]"):
        check_bench_config(_cfg(models=[bad]))
    with pytest.raises(BenchConfigError, match='checkpoint must be a path, or a dict of paths'):
        check_bench_config(_cfg(models=[dict(MODEL, checkpoint=dict(Rain200H=None))]))


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(REPO, 'configs', 'benchmarks',
                                                                  '*.py'))),
                         ids=os.path.basename)
def test_example_benchmark_configs_are_valid_and_their_models_build(path):
    """Every shipped BENCH_CONFIG parses; each model's config builds its model, and the
    converter it names (convert=, or the released model's) fits that config's arch."""
    from mmengine import Config

    from restorelab.apis import init_model
    from restorelab.benchmark.runner import model_files
    from restorelab.registry import MODELS
    from restorelab.models.converters import get_converter

    cfg = check_bench_config(path)
    configs = {}  # config path -> arch type
    for model in cfg['models']:
        if model['type'] == 'identity':
            continue
        key = 'zoo' if model['type'] == 'released' else 'config'
        sets = list(model[key]) if isinstance(model[key], dict) else [None]
        for dataset in sets:
            config, checkpoint = model_files(model, dataset)
            config = config if os.path.isabs(config) else os.path.join(REPO, config)
            assert os.path.isfile(config), (model['name'], config)
            arch_type = configs[config] = Config.fromfile(config).model.arch.type
            if model['type'] == 'released':
                from restorelab.apis.zoo import find_release
                converter = find_release(checkpoint).converter
            else:
                converter = model.get('convert')
            if converter:
                assert get_converter(converter).arch_type == arch_type, (model['name'], dataset)
    for config, arch_type in configs.items():
        built = init_model(config)
        assert isinstance(built.arch, MODELS.get(arch_type)), config
