"""The benchmark config (BENCH_CONFIG): model references x dataset configs, one inference
protocol, the cost measurement; docs/benchmarking.md describes every key. In short::

    models = [dict(name='Input', type='identity'),
              dict(name='Restormer', config='configs/restormer/restormer_rain200h.py',
                   checkpoint='official/deraining.pth', convert='restormer'),
              dict(name='PReNet', zoo=dict(Rain100H='prenet_rain100h'))]   # per-set dicts
    datasets = [dict(config='configs/_base_/datasets/rain200h.py'),
                dict(config='configs/_base_/datasets/rain100h.py', protocol='rcdnet',
                     cfg_options={'test_dataloader.dataset.layout': 'numbered'})]
    inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0, quantize='round')
    cost = dict(shape=(3, 256, 256), runs=5, warmup=2)
    reference = 'Restormer'   # optional: the model the others are compared with

A model entry is a :func:`restorelab.apis.load_restorer` reference with a ``name``; a dataset
entry names a dataset config, whose ``test_dataloader`` and ``test_evaluator`` tools/test.py
uses, with overrides. Everything is checked here, before anything runs: an unknown key, a
missing dataset config, an unknown metric or a model reference of no known kind raises
:class:`BenchConfigError` naming the entry and what would fit.
"""
import copy
import glob
import inspect
import os

from mmengine.config import Config

from restorelab.evaluation.functional import check_protocol, check_quantize
from restorelab.models.restorers.inference_utils import TEST_CFG_DEFAULTS, check_test_cfg, is_int
from restorelab.utils.errors import BenchConfigError, BenchmarkError, UserInputError
from .cost import check_shape

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_LEVEL_KEYS = ('models', 'datasets', 'inference', 'cost', 'reference')
MODEL_KEYS = ('name', 'type', 'config', 'checkpoint', 'convert', 'convert_key', 'backend', 'zoo',
              'onnx')
PER_DATASET_KEYS = ('config', 'checkpoint', 'zoo', 'onnx')
DATASET_KEYS = ('name', 'config', 'data_root', 'protocol', 'cfg_options')
SCORING_DEFAULTS = dict(seed=0, quantize='round')  # the keys of `inference` that are not test_cfg
INFERENCE_DEFAULTS = dict(TEST_CFG_DEFAULTS, **SCORING_DEFAULTS)
COST_DEFAULTS = dict(shape=(3, 256, 256), runs=5, warmup=2)


def _check_keys(entry, where, valid, required=()):
    if not isinstance(entry, dict):
        raise BenchConfigError(f'{where} must be a dict, got {type(entry).__name__}: {entry!r}')
    unknown = sorted(k for k in entry if k not in valid)
    if unknown:
        raise BenchConfigError(f'{where}: unknown key(s) {unknown}; valid keys: {list(valid)}')
    missing = [k for k in required if k not in entry]
    if missing:
        raise BenchConfigError(f'{where}: missing key(s) {missing}')


def _check_name(name, where, seen):
    if not isinstance(name, str) or not name.strip() or '|' in name:
        raise BenchConfigError(f'{where}: name must be a non-empty string without "|", got {name!r}')
    if name in seen:
        raise BenchConfigError(f'{where}: the name {name!r} is used twice; names must be unique')
    seen.add(name)


def find_config(path):
    """``path`` as given when it exists, else relative to the restorelab checkout."""
    if os.path.isfile(path) or os.path.isabs(path):
        return path
    beside = os.path.join(REPO_ROOT, path)
    return beside if os.path.isfile(beside) else path


def entry_ref(entry, dataset=None):
    """The model reference of a model entry for ``dataset``: its per-dataset values picked
    (``dataset=None``: the first listed); a set missing from a dict is a BenchmarkError."""
    ref = {k: v for k, v in entry.items() if k != 'name'}
    for key in PER_DATASET_KEYS:
        value = ref.get(key)
        if isinstance(value, dict):
            name = dataset if dataset is not None else next(iter(value))
            if name not in value:
                raise BenchmarkError(f'model {entry["name"]!r} lists no {key} for dataset {name!r} '
                                     f'(its {key} dict names {sorted(value)})')
            ref[key] = value[name]
    if isinstance(ref.get('config'), str):
        ref['config'] = find_config(ref['config'])
    return ref


def _check_models(models, dataset_names):
    from restorelab.apis.models import model_ref

    if not isinstance(models, (list, tuple)) or not models:
        raise BenchConfigError('`models` must be a non-empty list of dicts, e.g. '
                               "[dict(name='Restormer', config='x.py', checkpoint='x.pth')]")
    seen = set()
    for i, entry in enumerate(models):
        _check_keys(entry, f'models[{i}]', MODEL_KEYS, ('name',))
        _check_name(entry['name'], f'models[{i}]', seen)
        where = f'models[{i}] ({entry["name"]})'
        sets = [None]
        for key in PER_DATASET_KEYS:
            if isinstance(entry.get(key), dict):
                if not all(isinstance(v, str) and v for v in entry[key].values()):
                    raise BenchConfigError(f'{where}: {key} must be a file path or name, or a dict '
                                           f"of them by dataset name; got {entry[key]!r}")
                unknown = sorted(k for k in entry[key] if k not in dataset_names)
                if unknown or not entry[key]:
                    raise BenchConfigError(f'{where}: {key} names unknown dataset(s) {unknown}; '
                                           f'the datasets are {dataset_names}')
                sets = list(entry[key])
        for dataset in sets:
            try:
                model_ref(entry_ref(entry, dataset))
            except UserInputError as err:
                raise BenchConfigError(f'{where}: {err}') from None
    return [dict(m) for m in models]


def dataset_entry(entry, where='datasets[0]'):
    """A dataset entry resolved: ``dict(name, config, loader, metrics, entry)``, its test loader
    and evaluator metrics from the dataset config with the entry's overrides applied."""
    from restorelab.engine.launch import evaluator_metrics, metric_class

    _check_keys(entry, where, DATASET_KEYS, ('config',))
    path = find_config(entry['config']) if isinstance(entry['config'], str) else ''
    if not os.path.isfile(path):
        known = sorted(glob.glob(os.path.join(REPO_ROOT, 'configs', '_base_', 'datasets', '*.py')))
        raise BenchConfigError(
            f'{where}: dataset config {entry["config"]!r} does not exist; the dataset configs are '
            f'{", ".join(os.path.relpath(k, REPO_ROOT) for k in known)}')
    cfg = Config.fromfile(path)
    if entry.get('cfg_options'):
        if not isinstance(entry['cfg_options'], dict):
            raise BenchConfigError(f'{where}: cfg_options must be a dict of dotted keys, got '
                                   f'{entry["cfg_options"]!r}')
        cfg.merge_from_dict(entry['cfg_options'])
    if not (isinstance(cfg.get('test_dataloader'), dict) and cfg.test_dataloader.get('dataset')
            and cfg.get('test_evaluator') is not None):
        raise BenchConfigError(f'{where}: {path} has no test_dataloader (with a dataset) and '
                               'test_evaluator; a benchmark set is a dataset config as '
                               'tools/test.py reads it')
    if entry.get('data_root') is not None:
        cfg.test_dataloader.dataset.data_root = entry['data_root']
    metrics = [dict(m) for m in evaluator_metrics(cfg.to_dict()['test_evaluator'])]
    for metric in metrics:
        cls = metric_class(metric)
        if cls is None:
            from restorelab.registry import METRICS
            METRICS.import_from_location()
            raise BenchConfigError(f'{where} ({path}): test_evaluator names the unknown metric '
                                   f'{metric.get("type")!r}; registered metrics: '
                                   f'{", ".join(sorted(METRICS.module_dict))}')
        if entry.get('protocol') is not None and 'protocol' in inspect.signature(cls).parameters:
            metric['protocol'] = entry['protocol']
        try:  # a bad protocol or quantisation is found now, not in a cell
            if 'protocol' in metric:
                check_protocol(metric['protocol'], metric.get('crop_border', 0))
            if 'quantize' in metric:
                check_quantize(metric['quantize'])
        except ValueError as err:
            raise BenchConfigError(f'{where} ({path}): {err}') from None
    name = entry.get('name') or cfg.get('dataset_name') or os.path.splitext(os.path.basename(path))[0]
    return dict(name=name, config=path, loader=cfg.to_dict()['test_dataloader'], metrics=metrics,
                columns=metric_columns(metrics), entry=dict(entry))


def metric_columns(metrics):
    """``[dict(name, higher_is_better, decimals, other, protocol, cfg, quantized)]``: the
    metrics of an evaluator, then each one's other convention (PSNR_RGB beside PSNR) unless
    listed; what a metric class declares, nothing known by name here."""
    from restorelab.engine.launch import metric_class
    from restorelab.evaluation.metrics import PerImageMetric

    columns = []
    for other in (False, True):
        for cfg in metrics:
            cls = metric_class(cfg)
            cfg = getattr(cls, 'other_convention', lambda c: None)(cfg) if other else cfg
            name = cfg and (cls.result_name(cfg) if hasattr(cls, 'result_name') else cls.__name__)
            if cfg and name not in [c['name'] for c in columns]:
                columns.append(dict(name=name, higher_is_better=getattr(cls, 'higher_is_better', True),
                                    decimals=getattr(cls, 'decimals', 4), other=other,
                                    protocol=cfg.get('protocol'), cfg=cfg,
                                    quantized=issubclass(cls, PerImageMetric)))
    return columns


def _check_datasets(datasets):
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise BenchConfigError("`datasets` must be a non-empty list of dicts, e.g. "
                               "[dict(config='configs/_base_/datasets/rain200h.py')]")
    out, seen = [], set()
    for i, entry in enumerate(datasets):
        spec = dataset_entry(entry, f'datasets[{i}]')
        _check_name(spec['name'], f'datasets[{i}]', seen)
        out.append(spec)
    return out


def check_bench_config(cfg):
    """Validate a BENCH_CONFIG (a path, mmengine Config or dict); returns a plain dict
    ``dict(models, datasets, inference, cost, reference)`` with defaults filled in and every
    dataset resolved (see :func:`dataset_entry`)."""
    if isinstance(cfg, (str, os.PathLike)):
        path = os.fspath(cfg)
        if not os.path.isfile(path):
            raise BenchConfigError(f'benchmark config {path!r} does not exist')
        cfg = Config.fromfile(path)
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    if not isinstance(cfg, dict):
        raise BenchConfigError(f'a benchmark config must be a path, Config or dict, got {cfg!r}')
    cfg = copy.deepcopy(cfg)
    unknown = sorted(k for k in cfg if k not in TOP_LEVEL_KEYS and not k.startswith('_'))
    if unknown:
        raise BenchConfigError(
            f'benchmark config: unknown top-level key(s) {unknown}; valid keys: '
            f'{list(TOP_LEVEL_KEYS)} (helper variables must start with "_", e.g. _data_root)')
    for key in ('models', 'datasets'):
        if key not in cfg:
            raise BenchConfigError(f'benchmark config: `{key}` is missing (see '
                                   'configs/benchmarks/ for examples)')
    datasets = _check_datasets(cfg['datasets'])
    models = _check_models(cfg['models'], [d['name'] for d in datasets])
    inference, cost = ({} if cfg.get(k) is None else cfg[k] for k in ('inference', 'cost'))
    _check_keys(inference, 'inference', tuple(INFERENCE_DEFAULTS))
    _check_keys(cost, 'cost', tuple(COST_DEFAULTS))
    inference, cost = dict(INFERENCE_DEFAULTS, **inference), dict(COST_DEFAULTS, **cost)
    if not is_int(inference['seed']):
        raise BenchConfigError(f"inference.seed must be an int, got {inference['seed']!r}")
    for check, what in ((lambda: check_quantize(inference['quantize']), 'inference.quantize: '),
                        (lambda: check_test_cfg(restorer_test_cfg(inference)), 'inference: '),
                        (lambda: cost.update(shape=check_shape(cost['shape'])), 'cost.')):
        try:
            check()
        except ValueError as err:
            raise BenchConfigError(f'{what}{err}'.replace('test_cfg.', 'inference.')) from None
    for key, low in (('runs', 1), ('warmup', 0)):
        if not (is_int(cost[key]) and cost[key] >= low):
            raise BenchConfigError(f'cost.{key} must be an int >= {low}, got {cost[key]!r}')
    reference = cfg.get('reference')
    if reference is not None and reference not in [m['name'] for m in models]:
        raise BenchConfigError(f'reference={reference!r} is not a model of the config; the models '
                               f'are {[m["name"] for m in models]} (default: the best mean per set)')
    return dict(models=models, datasets=datasets, inference=inference, cost=cost,
                reference=reference)


def restorer_test_cfg(inference):
    """The restorer's ``test_cfg`` part of ``inference`` (without ``seed`` and ``quantize``)."""
    return {k: v for k, v in inference.items() if k not in SCORING_DEFAULTS}


def select(entries, names, what):
    """The entries named in ``names`` (a list, or a comma-separated string; None: all), in
    config order; an unknown name is an error listing the valid ones."""
    if names is None:
        return list(entries)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(',') if n.strip()]
    valid = [e['name'] for e in entries]
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise BenchConfigError(f'--{what}: unknown name(s) {unknown or names}; the config lists '
                               f'{valid}')
    return [e for e in entries if e['name'] in names]
