"""The benchmark config (BENCH_CONFIG): which models, on which test sets, under
which inference protocol, with which cost measurement.

A BENCH_CONFIG is an mmengine python config with exactly these top-level
entries (names starting with ``_`` are free helper variables)::

    models = [
        dict(name='Restormer', config='configs/restormer/restormer_rain200h.py',
             checkpoint='work_dirs/restormer/iter_300000.pth'),      # restorelab checkpoint
        dict(name='Restormer (ORT)', config='configs/restormer/restormer_rain200h.py',
             checkpoint='restormer.onnx', backend='onnxruntime'),    # exported, ONNX Runtime
        dict(name='DRSformer', config='configs/drsformer_rain200h.py',
             checkpoint='official/DRSformer_rain200H.pth', convert='drsformer'),  # official
        dict(name='identity', type='identity'),                       # the rainy input itself
        dict(name='PReNet', zoo=dict(Rain100H='prenet_rain100h')),   # released, by name
    ]
    datasets = [
        dict(name='Rain200H', type='paired', data_root='data/Rain200H',
             data_prefix=dict(img='test/input', gt='test/target'), protocol='restormer'),
        dict(name='RealRain', type='unpaired', data_root='data/real', niqe_params='niqe.npz',
             brisque_params='BRISQUE_release'),
    ]
    inference = dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False, seed=0,
                     quantize='round')
    cost = dict(shape=(3, 256, 256), runs=5, warmup=2)

``inference`` holds the restorer's test_cfg keys (padding, tiling, self-ensemble, bf16,
compile) plus two scoring keys: ``seed`` and ``quantize`` ('round', or 'truncate' as the
PReNet/BRN/AIDNet test scripts save their outputs). Unpaired sets are scored with NIQE
and/or BRISQUE when their parameter files are given (``niqe_params``; ``brisque_params``
with ``brisque_range`` when the range file is not beside the model); without either
they are restored and saved but not scored.

A model's ``config`` and ``checkpoint`` may also be dicts by dataset name, for
models trained once per set as in the papers' tables, e.g.
``checkpoint=dict(Rain200H='h.pth', Rain200L='l.pth')``; a set missing from the
dict makes that cell fail with the reason. Official checkpoints take
``convert='<converter name>'`` (``convert_key`` picks the wrapper key) and are
converted in memory. A released model known by name (``python tools/zoo.py list``)
is ``zoo='<name>'`` or ``zoo=dict(<set>='<name>', ...)`` instead of config and
checkpoint: its file is fetched into the cache once, verified by sha256 and
converted on the fly (``restorelab.apis.zoo``). Relative paths are read from the current directory, as
every tool does.
Every entry is checked here, before anything runs: an unknown key, a missing
required key or a bad value raises :class:`BenchConfigError` naming the entry,
the key and the valid choices.
"""
import copy
import numbers
import os

from mmengine.config import Config

from restorelab.evaluation.functional import PROTOCOLS, check_protocol, check_quantize
from restorelab.models.restorers.inference_utils import TEST_CFG_DEFAULTS, check_test_cfg
from restorelab.utils.errors import BenchConfigError

TOP_LEVEL_KEYS = ('models', 'datasets', 'inference', 'cost')
MODEL_TYPES = ('model', 'released', 'identity')
# How a 'model' entry runs its arch: PyTorch, or ONNX Runtime on the CPU with ``checkpoint`` a
# .onnx exported by tools/deploy/export_onnx.py (``config`` still names the arch: its parameters
# and FLOPs in the cost table, and a check that the file holds the same arch).
BACKENDS = ('pytorch', 'onnxruntime')
DATASET_TYPES = ('paired', 'unpaired')

MODEL_KEYS = dict(
    model=dict(required=('name', 'config', 'checkpoint'), optional=('type', 'convert',
                                                                  'convert_key', 'backend')),
    released=dict(required=('name', 'zoo'), optional=('type',)),
    identity=dict(required=('name',), optional=('type',)),
)
# Paired sets take PairedImageDataset's layout arguments; unpaired ones SingleImageDataset's.
DATASET_KEYS = dict(
    paired=dict(required=('name', 'data_root', 'protocol'),
                optional=('type', 'data_prefix', 'filename_tmpl', 'ann_file', 'side_by_side',
                          'allow_unused_gt', 'crop_border')),
    unpaired=dict(required=('name', 'data_root'),
                  optional=('type', 'data_prefix', 'niqe_params', 'niqe_convert_to',
                            'brisque_params', 'brisque_range', 'brisque_convert_to',
                            'crop_border')),
)
# Keys of ``inference`` that are about scoring, not the restorer's test_cfg.
SCORING_DEFAULTS = dict(seed=0, quantize='round')
INFERENCE_DEFAULTS = dict(TEST_CFG_DEFAULTS, **SCORING_DEFAULTS)
NO_REFERENCE_METRICS = ('niqe', 'brisque')
COST_DEFAULTS = dict(shape=(3, 256, 256), runs=5, warmup=2)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_keys(entry, where, required, optional):
    if not isinstance(entry, dict):
        raise BenchConfigError(f'{where} must be a dict, got {type(entry).__name__}: {entry!r}')
    valid = list(required) + list(optional)
    unknown = sorted(k for k in entry if k not in valid)
    if unknown:
        raise BenchConfigError(f'{where}: unknown key(s) {unknown}; valid keys: {valid}')
    missing = [k for k in required if k not in entry]
    if missing:
        raise BenchConfigError(f'{where}: missing key(s) {missing} (required: {list(required)})')


def _check_name(entry, where, seen):
    name = entry['name']
    if not isinstance(name, str) or not name.strip() or '|' in name:
        raise BenchConfigError(
            f'{where}: name must be a non-empty string without "|", got {name!r}')
    if name in seen:
        raise BenchConfigError(f'{where}: the name {name!r} is used twice; names must be unique')
    seen.add(name)


def _check_models(models):
    if not isinstance(models, (list, tuple)) or not models:
        raise BenchConfigError('`models` must be a non-empty list of dicts, e.g. '
                               "[dict(name='Restormer', config='x.py', checkpoint='x.pth')]")
    out, seen, per_dataset = [], set(), []
    for i, entry in enumerate(models):
        where = f'models[{i}]'
        default = 'released' if isinstance(entry, dict) and 'zoo' in entry else 'model'
        kind = entry.get('type', default) if isinstance(entry, dict) else None
        if kind not in MODEL_TYPES:
            raise BenchConfigError(f'{where}: type={kind!r}; expected one of {MODEL_TYPES} '
                                   "('model' is the default: a config and a checkpoint; "
                                   "'released' with zoo=<name>)")
        _check_keys(entry, where, **MODEL_KEYS[kind])
        _check_name(entry, where, seen)
        entry = dict(entry, type=kind)
        if kind == 'model':
            for key in ('config', 'checkpoint'):
                value = entry[key]
                paths = list(value.values()) if isinstance(value, dict) and value else [value]
                if not all(isinstance(p, str) and p for p in paths):
                    raise BenchConfigError(
                        f'{where} ({entry["name"]}): {key} must be a path, or a dict of paths by '
                        f"dataset name (e.g. dict(Rain200H='a.pth', Rain200L='b.pth')); got "
                        f'{value!r}')
                per_dataset.append((where, entry['name'], key, value))
            entry.setdefault('convert', None)
            entry.setdefault('convert_key', None)
            entry.setdefault('backend', 'pytorch')
            if entry['backend'] not in BACKENDS:
                raise BenchConfigError(f'{where} ({entry["name"]}): backend={entry["backend"]!r}; '
                                       f'expected one of {BACKENDS}')
            if entry['backend'] == 'onnxruntime' and entry['convert'] is not None:
                raise BenchConfigError(f'{where} ({entry["name"]}): convert is for official '
                                       "PyTorch checkpoints; with backend='onnxruntime' the "
                                       'checkpoint is an exported .onnx file')
            if entry['convert'] is not None and not isinstance(entry['convert'], str):
                raise BenchConfigError(f'{where} ({entry["name"]}): convert must be the name of '
                                       f"a checkpoint converter (e.g. 'drsformer') or None, got "
                                       f'{entry["convert"]!r}')
        elif kind == 'released':
            _check_released_names(entry, where)
            per_dataset.append((where, entry['name'], 'zoo', entry['zoo']))
        out.append(entry)
    return out, per_dataset


def _check_released_names(entry, where):
    """``zoo`` is a released model's name, or a dict of names by dataset; each must be a
    downloadable entry of the manifest."""
    from restorelab.apis.zoo import list_released

    value = entry['zoo']
    names = list(value.values()) if isinstance(value, dict) and value else [value]
    known = [r.name for r in list_released(downloadable=True)]
    for name in names:
        if not isinstance(name, str) or name not in known:
            link_only = [r.name for r in list_released(downloadable=False)]
            hint = (' is listed with download links only (download it, convert it and give '
                    'config/checkpoint)' if name in link_only else ' is not a released model')
            raise BenchConfigError(
                f'{where} ({entry["name"]}): zoo={name!r}{hint}; zoo takes a name, or a dict of '
                f'names by dataset, of: {", ".join(known)}')


def _check_datasets(datasets):
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise BenchConfigError("`datasets` must be a non-empty list of dicts, e.g. [dict(name="
                               "'Rain200H', type='paired', data_root=..., protocol='restormer')]")
    out, seen = [], set()
    for i, entry in enumerate(datasets):
        where = f'datasets[{i}]'
        kind = entry.get('type', 'paired') if isinstance(entry, dict) else None
        if kind not in DATASET_TYPES:
            raise BenchConfigError(f'{where}: type={kind!r}; expected one of {DATASET_TYPES}')
        _check_keys(entry, where, **DATASET_KEYS[kind])
        _check_name(entry, where, seen)
        entry = dict(entry, type=kind)
        label = f'{where} ({entry["name"]})'
        crop = entry.setdefault('crop_border', 0)
        if kind == 'paired':
            try:
                check_protocol(entry['protocol'], crop)
            except ValueError as err:
                raise BenchConfigError(f'{label}: {err}') from None
        else:
            entry.setdefault('niqe_params', None)
            entry.setdefault('niqe_convert_to', 'y')
            entry.setdefault('brisque_params', None)
            entry.setdefault('brisque_range', None)
            entry.setdefault('brisque_convert_to', 'gray')
            for key in ('niqe_convert_to', 'brisque_convert_to'):
                if entry[key] not in ('y', 'gray'):
                    raise BenchConfigError(f"{label}: {key} must be 'y' or 'gray', got "
                                           f'{entry[key]!r}')
            if entry['brisque_range'] and not entry['brisque_params']:
                raise BenchConfigError(f'{label}: brisque_range goes with brisque_params (the '
                                       'BRISQUE model it scales features for)')
            if not (_is_int(crop) and crop >= 0):
                raise BenchConfigError(f'{label}: crop_border must be an int >= 0, got {crop!r}')
        out.append(entry)
    return out


def _check_inference(inference):
    inference = {} if inference is None else inference
    if not isinstance(inference, dict):
        raise BenchConfigError(f'`inference` must be a dict, got {inference!r}')
    _check_keys(inference, 'inference', (), tuple(INFERENCE_DEFAULTS))
    out = dict(INFERENCE_DEFAULTS, **inference)
    if not _is_int(out['seed']):
        raise BenchConfigError(f"inference.seed must be an int, got {out['seed']!r}")
    try:
        check_quantize(out['quantize'])
    except ValueError as err:
        raise BenchConfigError(f'inference.quantize: {err}') from None
    try:
        check_test_cfg(restorer_test_cfg(out))
    except ValueError as err:
        raise BenchConfigError(f'inference: {err}'.replace('test_cfg.', 'inference.')) from None
    return out


def restorer_test_cfg(inference):
    """The restorer's ``test_cfg`` part of a checked ``inference`` dict (without the
    scoring keys ``seed`` and ``quantize``)."""
    return {k: v for k, v in inference.items() if k not in SCORING_DEFAULTS}


def no_reference_metrics(dataset):
    """The no-reference metrics an unpaired set is scored with: those whose parameter
    files it names, in the order NIQE, BRISQUE."""
    return [m for m in NO_REFERENCE_METRICS if dataset.get(f'{m}_params')]


def _check_cost(cost):
    cost = {} if cost is None else cost
    if not isinstance(cost, dict):
        raise BenchConfigError(f'`cost` must be a dict, got {cost!r}')
    _check_keys(cost, 'cost', (), tuple(COST_DEFAULTS))
    out = dict(COST_DEFAULTS, **cost)
    shape = out['shape']
    if not (isinstance(shape, (list, tuple)) and len(shape) == 3
            and all(_is_int(s) and s > 0 for s in shape)):
        raise BenchConfigError(f'cost.shape must be (C, H, W) positive ints, e.g. (3, 256, 256); '
                               f'got {shape!r}')
    out['shape'] = tuple(int(s) for s in shape)
    for key, low in (('runs', 1), ('warmup', 0)):
        if not (_is_int(out[key]) and out[key] >= low):
            raise BenchConfigError(f'cost.{key} must be an int >= {low}, got {out[key]!r}')
    return out


def check_bench_config(cfg):
    """Validate a BENCH_CONFIG (a path, mmengine Config or dict); returns a plain dict
    ``dict(models=[...], datasets=[...], inference={...}, cost={...})`` with the
    defaults filled in and ``type`` set on every model and dataset."""
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
    models, per_dataset = _check_models(cfg['models'])
    datasets = _check_datasets(cfg['datasets'])
    names = [d['name'] for d in datasets]
    for where, model, key, value in per_dataset:
        unknown = sorted(k for k in value if k not in names) if isinstance(value, dict) else []
        if unknown:
            raise BenchConfigError(f'{where} ({model}): {key} names unknown dataset(s) '
                                   f'{unknown}; the datasets are {names}')
    return dict(models=models, datasets=datasets,
                inference=_check_inference(cfg.get('inference')),
                cost=_check_cost(cfg.get('cost')))


def select(entries, names, what):
    """The entries named in ``names`` (a list, or a comma-separated string), in config order.

    ``None`` selects every entry; an unknown name is an error listing the valid ones.
    """
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


__all__ = ['BenchConfigError', 'check_bench_config', 'select', 'restorer_test_cfg',
           'no_reference_metrics', 'PROTOCOLS', 'TOP_LEVEL_KEYS', 'INFERENCE_DEFAULTS',
           'COST_DEFAULTS']
