"""Turning mmengine's build errors for config typos into clear messages.

mmengine reports an unknown key as ``Foo.__init__() got an unexpected keyword
argument 'bar'`` and an unknown type as ``'Fooo is not in the
restorelab::model registry ...'``. :func:`explain_config_error` finds the
entry in the config, the valid keys (the class's ``__init__`` parameters,
following ``**kwargs`` up the class hierarchy) or the registered names, and
suggests the closest ones.
"""
import inspect
import re

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
    regs = [v for v in vars(registry).values() if isinstance(v, Registry)]
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
    keys = []
    for klass in cls.__mro__:
        if klass is object or '__init__' not in vars(klass):
            continue
        try:
            params = inspect.signature(vars(klass)['__init__']).parameters.values()
        except (TypeError, ValueError):
            break
        more = False
        for p in params:
            if p.name == 'self' or p.kind is p.VAR_POSITIONAL:
                continue
            if p.kind is p.VAR_KEYWORD:
                more = True
            elif p.name not in keys:
                keys.append(p.name)
        if not more:
            break
    return keys


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
    close = closest_names(key, keys)
    hint = (f'did you mean {" or ".join(repr(c) for c in close)}? ' if close else '')
    return ConfigError(
        f'config error: {where} has the unknown key {key!r}; {hint}{cls.__name__} accepts: '
        f'{", ".join(keys)}. Fix the config or the --cfg-options entry.')


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
