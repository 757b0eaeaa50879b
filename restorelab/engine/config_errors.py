"""Config typos as clear messages: checked before a run, and mmengine's build errors explained.

:func:`check_config_keys` walks every section a run builds (model, dataloaders with their
dataset, pipeline transforms, sampler and collate function, evaluators, loops, optimizer,
parameter schedulers, hooks, visualizer, log processor) and compares each entry's keys with
what its component accepts, before anything is built: ``tools/train.py`` (also with
``--check``, so before ``tools/dist_train.sh`` starts its processes) and ``tools/test.py``
run it.

mmengine reports an unknown key as ``Foo.__init__() got an unexpected keyword
argument 'bar'`` and an unknown type as ``'Fooo is not in the
restorelab::model registry ...'``. :func:`explain_config_error` finds the
entry in the config, the valid keys (the class's ``__init__`` parameters,
following ``**kwargs`` up the class hierarchy) or the registered names, and
suggests the closest ones.
"""
import inspect
import re

from restorelab import registry as R
from restorelab.utils.errors import ConfigError, closest_names

_UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_MISSING = re.compile(r"(\w+)\.__init__\(\) missing \d+ required (?:positional |keyword-only )?"
                      r"arguments?: (.+)$")
_NOT_REGISTERED = re.compile(r"(\S+) is not in the (\S+)::(\S+) registry")


def _walk(obj, path=''):
    """Yield ``(path, dict)`` for every dict in a config tree."""
    if hasattr(obj, 'to_dict') and not isinstance(obj, dict):  # mmengine Config
        obj = obj.to_dict()
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from _walk(v, f'{path}.{k}' if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _walk(v, f'{path}[{i}]')


def _registries():
    from restorelab import registry
    from mmengine.registry import Registry
    regs = [v for v in vars(registry).values()  # restorelab's before mmengine's
            if isinstance(v, Registry) and v.scope == registry.SCOPE]
    for reg in list(regs):
        if reg.parent is not None and reg.parent not in regs:
            regs.append(reg.parent)
    return regs


def _import_locations(reg):
    try:
        reg.import_from_location()
    except Exception:  # a plugin failing to import must not hide the real error
        pass


def _resolve_type(type_):
    if inspect.isclass(type_):
        return type_
    if not isinstance(type_, str):
        return None
    name = type_.split('.')[-1]
    for reg in _registries():
        _import_locations(reg)
        if name in reg.module_dict:
            return reg.module_dict[name]
    return None


def valid_keys(cls):
    """Keyword names ``cls(...)`` accepts: its ``__init__`` parameters and,
    while ``**kwargs`` is passed on, those of its base classes."""
    return _accepted(cls)[0]


def _accepted(cls):
    """``(keys, open)``: the keyword names ``cls(...)`` (a class or a function) accepts, and
    whether it takes any other name too (``**kwargs`` that no base class's ``__init__``
    closes; torch's ``nn.Module.__init__`` rejects any, so it closes them)."""
    if not inspect.isclass(cls):
        try:
            params = list(inspect.signature(cls).parameters.values())
        except (TypeError, ValueError):
            return [], True
        named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        return ([p.name for p in named[1:]],  # the first: what the function is applied to
                any(p.kind is p.VAR_KEYWORD for p in params))
    import torch
    keys = []
    more = False
    for klass in cls.__mro__:
        if klass is torch.nn.Module:
            return keys, False
        if klass is object or '__init__' not in vars(klass):
            continue
        if klass is object or '__init__' not in vars(klass):
            continue
        try:
            params = inspect.signature(vars(klass)['__init__']).parameters.values()
        except (TypeError, ValueError):
            return keys, True
        more = False
        for p in params:
            if p.name == 'self' or p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                more = True
            elif p.name not in keys:
                keys.append(p.name)
        if not more:
            return keys, False
    return keys, more


def _find_entry(cfg, cls_name, key=None):
    """``(path, entry, class)`` of the config dict whose type is ``cls_name``
    (or a subclass of it) and that holds ``key``."""
    for path, entry in _walk(cfg):
        if 'type' not in entry or (key is not None and key not in entry):
            continue
        cls = _resolve_type(entry['type'])
        if cls is not None and cls_name in [k.__name__ for k in cls.__mro__]:
            return path, entry, cls
    return None, None, _resolve_type(cls_name)


def _unknown_key(cfg, cls_name, key):
    path, entry, cls = _find_entry(cfg, cls_name, key)
    if cls is None:
        return None
    keys = [k for k in valid_keys(cls) if k != key]
    where = f'`{path}` (type={entry["type"]!r})' if path else f'an entry of type {cls.__name__}'
    return _unknown_key_error(where, cls.__name__, key, keys)


def _unknown_key_error(where, name, key, keys):
    close = closest_names(key, keys)
    hint = (f'did you mean {" or ".join(repr(c) for c in close)}? ' if close else '')
    accepts = f'{name} accepts: {", ".join(keys)}' if keys else f'{name} accepts no keys'
    return ConfigError(f'config error: {where} has the unknown key {key!r}; {hint}{accepts}. '
                       'Fix the config or the --cfg-options entry.')


def _missing_key(cfg, cls_name, names):
    path, entry, cls = _find_entry(cfg, cls_name)
    where = f'`{path}` (type={entry["type"]!r})' if path else f'an entry of type {cls_name}'
    return ConfigError(f'config error: {where} lacks the required key(s) {names}. Add them to '
                       'the config or with --cfg-options.')


def _unknown_type(cfg, name, scope, reg_name):
    regs = [r for r in _registries() if r.name == reg_name]
    names = set()
    for reg in regs:
        _import_locations(reg)
        names.update(reg.module_dict)
        if reg.parent is not None:
            names.update(reg.parent.module_dict)
    path = next((p for p, e in _walk(cfg) if e.get('type') == name), None)
    where = f'`{path}.type`' if path else 'a config entry'
    close = closest_names(name, sorted(names))
    hint = (f'the closest registered names are {", ".join(repr(c) for c in close)}'
            if close else f'registered: {", ".join(sorted(names))}')
    return ConfigError(
        f'config error: {where} names the type {name!r}, which is not registered as a '
        f'{reg_name} in scope {scope!r}; {hint}. If it lives in a plugin, list its module in the '
        "config's custom_imports.")


def explain_config_error(err, cfg):
    """A :class:`ConfigError` explaining ``err`` (a TypeError/KeyError raised
    while building from ``cfg``), or None when ``err`` is not a config typo."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    if isinstance(err, TypeError):
        m = _UNEXPECTED.search(text)
        if m:
            return _unknown_key(cfg, m.group(1), m.group(2))
        m = _MISSING.search(text)
        if m:
            return _missing_key(cfg, m.group(1), m.group(2))
    if isinstance(err, KeyError):
        m = _NOT_REGISTERED.search(text)
        if m:
            return _unknown_type(cfg, m.group(1), m.group(2), m.group(3))
    return None


# Keys mmengine's Runner takes out of a dataloader section before it calls DataLoader(...).
_LOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                'num_batch_per_epoch', 'disable_subprocess_warning')


class _KeyChecker:
    """Walks the sections of a config a run builds, checking each entry's keys against
    what its component accepts (see :func:`check_config_keys`)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.scope = cfg.get('default_scope') or 'restorelab'

    def _resolve(self, type_, registry):
        if not isinstance(type_, str):
            return type_ if callable(type_) else None
        return registry.get(type_)

    def entry(self, path, entry, registry, default_type=None, also=(), strict_type=True):
        """Check one entry built by ``registry``; its class, or None when it has none."""
        if not isinstance(entry, dict):
            return None
        type_ = entry.get('type', default_type)
        if type_ is None:
            return None
        cls = self._resolve(type_, registry)
        if cls is None:
            if strict_type and isinstance(type_, str):
                raise _unknown_type(self.cfg, type_, self.scope, registry.name)
            return None
        keys, open_ = _accepted(cls)
        if open_:
            return cls
        accepted = keys + [k for k in also if k not in keys]
        for key in entry:
            if key != 'type' and key not in accepted:
                where = f'`{path}` (type={type_!r})' if 'type' in entry else f'`{path}`'
                raise _unknown_key_error(where, getattr(cls, '__name__', str(type_)), key,
                                         accepted)
        return cls

    def entries(self, path, value, registry, **kwargs):
        """A section holding one entry or a list of them."""
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self.entry(f'{path}[{i}]', item, registry, **kwargs)
        else:
            self.entry(path, value, registry, **kwargs)

    def model(self, path, entry):
        if self.entry(path, entry, R.MODELS, strict_type=path == 'model') is None:
            return
        for key, value in entry.items():
            if key == 'init_cfg':
                continue
            if isinstance(value, dict) and 'type' in value:
                self.model(f'{path}.{key}', value)
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and 'type' in item:
                        self.model(f'{path}.{key}[{i}]', item)

    def dataset(self, path, entry):
        if self.entry(path, entry, R.DATASETS) is None:
            return
        if isinstance(entry.get('dataset'), dict):  # dataset wrappers
            self.dataset(f'{path}.dataset', entry['dataset'])
        for i, item in enumerate(entry.get('datasets') or []):
            self.dataset(f'{path}.datasets[{i}]', item)
        self.transforms(f'{path}.pipeline', entry.get('pipeline'))

    def transforms(self, path, pipeline):
        for i, item in enumerate(pipeline or []):
            if self.entry(f'{path}[{i}]', item, R.TRANSFORMS) is not None:
                for key in ('transforms', 'pipeline'):  # Compose, RandomChoice, ...
                    if isinstance(item.get(key), (list, tuple)):
                        self.transforms(f'{path}[{i}].{key}', item[key])

    def dataloader(self, path, entry):
        if not isinstance(entry, dict):
            return
        from torch.utils.data import DataLoader
        self.entry(path, entry, None, default_type=DataLoader, also=_LOADER_KEYS)
        self.dataset(f'{path}.dataset', entry.get('dataset'))
        self.entry(f'{path}.sampler', entry.get('sampler'), R.DATA_SAMPLERS)
        self.entry(f'{path}.batch_sampler', entry.get('batch_sampler'), R.DATA_SAMPLERS)
        self.entry(f'{path}.collate_fn', entry.get('collate_fn'), R.FUNCTIONS)
        self.entry(f'{path}.worker_init_fn', entry.get('worker_init_fn'), R.FUNCTIONS)

    def evaluator(self, path, value):
        if isinstance(value, dict) and 'metrics' in value:
            self.entry(path, value, R.EVALUATOR, default_type='Evaluator')
            value = value['metrics']
            path = f'{path}.metrics'
        self.entries(path, value, R.METRICS)

    def check(self):
        cfg = self.cfg
        self.model('model', cfg.get('model'))
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            self.dataloader(name, cfg.get(name))
        for name in ('val_evaluator', 'test_evaluator'):
            self.evaluator(name, cfg.get(name))
        train_cfg = cfg.get('train_cfg')
        if isinstance(train_cfg, dict):
            loop = 'EpochBasedTrainLoop' if train_cfg.get('by_epoch') else 'IterBasedTrainLoop'
            self.entry('train_cfg', train_cfg, R.LOOPS, default_type=loop, also=('by_epoch',))
        self.entry('val_cfg', cfg.get('val_cfg'), R.LOOPS, default_type='ValLoop')
        self.entry('test_cfg', cfg.get('test_cfg'), R.LOOPS, default_type='TestLoop')
        optim_wrapper = cfg.get('optim_wrapper')
        if isinstance(optim_wrapper, dict) and 'constructor' not in optim_wrapper:
            self.entry('optim_wrapper', optim_wrapper, R.OPTIM_WRAPPERS,
                       default_type='OptimWrapper', also=('paramwise_cfg',))
            self.entry('optim_wrapper.optimizer', optim_wrapper.get('optimizer'), R.OPTIMIZERS)
        self.entries('param_scheduler', cfg.get('param_scheduler'), R.PARAM_SCHEDULERS,
                     also=('convert_to_iter_based',))
        for name, hook in (cfg.get('default_hooks') or {}).items():
            self.entry(f'default_hooks.{name}', hook, R.HOOKS)
        self.entries('custom_hooks', cfg.get('custom_hooks') or [], R.HOOKS)
        visualizer = cfg.get('visualizer')
        if self.entry('visualizer', visualizer, R.VISUALIZERS) is not None:
            self.entries('visualizer.vis_backends', visualizer.get('vis_backends') or [],
                         R.VISBACKENDS)
        self.entry('log_processor', cfg.get('log_processor'), R.LOG_PROCESSORS,
                   default_type='LogProcessor')


def check_config_keys(cfg):
    """Raise a :class:`ConfigError` for the first key of ``cfg`` that the component it
    configures does not accept (or the first type that is not registered), naming the
    closest accepted names: every section a run builds, before anything is built."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'restorelab'):
        _KeyChecker(cfg).check()


# Top-level config variables that restorelab's code reads itself (besides the Runner's
# sections): an override of one of these takes effect.
READ_TOP_LEVEL_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'runner_type', 'model_wrapper_cfg',
    'custom_imports', 'compile', 'total_batch_size', 'batch_size_per_process', 'use_ema',
    'ema_momentum', 'find_unused_parameters', 'watchdog_timeout', 'dataset_name', 'protocol',
    'reference', 'models', 'datasets', 'inference', 'cost'))


def _holders(cfg, value, skip):
    """Paths of ``cfg`` (a dict tree) whose value equals ``value``, ``skip`` left out."""
    found = []

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f'{path}.{k}' if path else str(k))
        elif isinstance(obj, (list, tuple)) and not (isinstance(value, (list, tuple))
                                                     and list(obj) == list(value)):
            for i, v in enumerate(obj):
                walk(v, f'{path}[{i}]')
        elif path != skip and type(obj) is type(value) and obj == value:
            found.append(path)
    walk(cfg, '')
    return found


def check_top_level_overrides(cfg, options):
    """Refuse ``--cfg-options`` entries that set a top-level variable the resolved ``cfg``
    (before ``options`` were merged) no longer reads: its bases already put the variable's
    value into other keys (``max_iters`` into ``train_cfg.max_iters``), so overriding the
    variable changes nothing. The error names those keys."""
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    problems, example = [], None
    for key, value in (options or {}).items():
        if '.' in key or key in READ_TOP_LEVEL_KEYS or key not in tree:
            continue
        old = tree[key]
        if isinstance(old, bool) or old is None or isinstance(old, dict):
            continue
        # Keys inside sections (a top-level variable holding the same value is another one).
        holders = [p for p in _holders(tree, old, skip=key) if '.' in p or '[' in p]
        holders.sort(key=lambda p: not re.split(r'[.\[]', p)[-1].startswith(key))
        if holders:
            problems.append(f'{key!r} (its value {old!r} is in {", ".join(holders)})')
            example = example or f'{holders[0]}={value}'
    if problems:
        raise ConfigError(
            f'config error: --cfg-options sets the top-level variable(s) {"; ".join(problems)}, '
            'but the config has already used the variable to fill those keys, so the override '
            f'would change nothing. Set the keys themselves instead, e.g. --cfg-options {example}.')
