"""Loading official-release checkpoints into restorelab archs.

An official checkpoint is read with ``torch.load(weights_only=True)`` (a file
that needs arbitrary unpickling is refused), unwrapped (``params``,
``params_ema``, ``state_dict``, ``net``, DataParallel ``module.``), passed through the
converter registered for the model in ``CHECKPOINT_CONVERTERS`` and checked key
by key and shape by shape against the arch before anything is saved.

Which wrapper wins when a file has several: ``params``, then ``params_ema``,
then ``state_dict``, then ``net``. ``params`` first because the official Restormer and
DRSformer test scripts load ``checkpoint['params']`` (their releases hold only
that key); pass ``key='params_ema'`` to take BasicSR's EMA weights instead.
``net`` is where RESCAN's ``train.py`` keeps the weights (beside ``clock`` and ``opt``).
"""
import hashlib
import importlib
import pickle
import sys
from collections import OrderedDict
from pathlib import Path

import torch

from restorelab.registry import CHECKPOINT_CONVERTERS, MODELS
from restorelab.utils.errors import CheckpointConversionError, closest_names
from restorelab.utils.fileio import atomic_output
from restorelab.utils.state_dicts import state_dict_mismatch

from .tf_checkpoint import checkpoint_prefix, is_tf_checkpoint, read_tf_checkpoint

WRAPPER_KEYS = ('params', 'params_ema', 'state_dict', 'net')
# ImageRestorer holds the arch as ``self.arch``: its weights are ``arch.<name>`` in a checkpoint.
ARCH_PREFIX = 'arch.'
_SHOW = 5  # how many keys an error message lists


def register_converter(name, arch_type, infer_arch=None):
    """Register ``convert(state_dict) -> state_dict`` under ``name``;
    ``arch_type`` is the registered arch its output fits with default options.
    ``infer_arch(converted_state_dict)`` (optional) reads off the arch config a file was saved
    from (None when it cannot tell): a file that does not fit the arch asked for is then refused
    naming the config it does fit."""

    def decorator(fn):
        fn.arch_type = arch_type
        fn.infer_arch = infer_arch
        CHECKPOINT_CONVERTERS.register_module(name=name, module=fn)
        return fn

    return decorator


def known_converters():
    """Sorted names of every registered converter (built-in and imported plugins)."""
    CHECKPOINT_CONVERTERS.import_from_location()
    return sorted(CHECKPOINT_CONVERTERS.module_dict)


def get_converter(model_name):
    """The converter registered as ``model_name``; a clear error lists the known ones."""
    names = known_converters()
    if model_name not in CHECKPOINT_CONVERTERS.module_dict:
        close = closest_names(str(model_name), names)
        hint = f'did you mean {" or ".join(map(repr, close))}? ' if close else ''
        raise CheckpointConversionError(
            f'unknown model {model_name!r} for checkpoint conversion; {hint}known: '
            f'{", ".join(names)}. '
            'A plugin registers its converter with '
            "@CHECKPOINT_CONVERTERS.register_module(name=...) in its package under projects/.")
    return CHECKPOINT_CONVERTERS.module_dict[model_name]


def read_checkpoint_file(path):
    """``torch.load(path, map_location='cpu', weights_only=True)`` with clear errors.

    A file holding Python objects beyond tensors and containers could run code
    when unpickled: it is refused, with how to re-save it as plain tensors.
    A TensorFlow checkpoint (its ``.index`` or ``.data-*`` file, or its prefix) is
    read without TensorFlow into ``{variable name: tensor}`` (TensorFlow layouts).
    """
    if is_tf_checkpoint(path):
        return read_tf_checkpoint(path)
    path = Path(path)
    if not path.is_file():
        raise CheckpointConversionError(f'checkpoint file not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        message = str(err)
        detail = message.split('WeightsUnpickler error:')[-1].strip().splitlines()
        detail = detail[0].strip().split('. Please')[0] if detail else message
        if 'global' not in message.lower():  # not a pickle of objects: a damaged/foreign file
            raise CheckpointConversionError(
                f'cannot read {path} as a torch checkpoint ({detail}); '
                'expected a file written by torch.save') from None
        raise CheckpointConversionError(
            f'refusing to load {path}: it is not a plain tensor checkpoint, and unpickling it '
            f'would import and run arbitrary Python objects (torch.load weights_only=True '
            f'failed: {detail}). Official releases are plain state_dicts. If you trust '
            'the file, re-save its tensors once in a throwaway environment, e.g. '
            f"python -c \"import torch; ck = torch.load('{path}', weights_only=False); "
            "torch.save({k: v for k, v in ck['params'].items()}, 'plain.pth')\" "
            '(pick the dict holding the weights), then convert plain.pth.') from None
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointConversionError(
            f'cannot read {path} as a torch checkpoint ({type(err).__name__}: {err}); '
            'expected a file written by torch.save') from None


def _is_tensor_dict(obj):
    return isinstance(obj, dict) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def unwrap_state_dict(obj, source='checkpoint', key=None):
    """Return ``(state_dict, wrapper)``: the flat ``{name: tensor}`` dict inside
    ``obj`` and the wrapper key it came from (``None`` when already flat).
    A DataParallel ``module.`` prefix on every key is removed."""
    if not isinstance(obj, dict):
        raise CheckpointConversionError(
            f'{source}: expected a dict (a state_dict or one wrapped under '
            f'{"/".join(WRAPPER_KEYS)}), got {type(obj).__name__}')
    wrapper = None
    if key is not None:
        if key not in obj:
            raise CheckpointConversionError(
                f'{source}: key {key!r} not found; top-level keys: {sorted(map(str, obj))[:10]}')
        obj, wrapper = obj[key], key
    elif not _is_tensor_dict(obj):
        for candidate in WRAPPER_KEYS:
            if candidate in obj and isinstance(obj[candidate], dict):
                obj, wrapper = obj[candidate], candidate
                break
        else:
            raise CheckpointConversionError(
                f'{source}: no weights found: neither a flat name->tensor dict nor wrapped under '
                f'{", ".join(WRAPPER_KEYS)}; top-level keys: {sorted(map(str, obj))[:10]}. '
                'Pass the key holding the weights (--key).')
    if not _is_tensor_dict(obj):
        bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)][:_SHOW]
        raise CheckpointConversionError(
            f'{source}: the weights under {wrapper or "the top level"} are not all tensors '
            f'(e.g. {bad}); expected a name -> tensor state_dict')
    if all(k.startswith('module.') for k in obj):
        obj = OrderedDict((k[len('module.'):], v) for k, v in obj.items())
    return OrderedDict(obj), wrapper


def default_arch_cfg(model_name, converter=None):
    """``dict(type=...)`` of the arch a converter's output fits: the converter's
    ``arch_type`` or the registered arch whose name equals ``model_name``
    ignoring case."""
    arch_type = getattr(converter, 'arch_type', None)
    if arch_type is None:
        MODELS.import_from_location()
        matches = [n for n in MODELS.module_dict if n.lower() == model_name.lower()]
        if len(matches) != 1:
            raise CheckpointConversionError(
                f'cannot tell which arch the {model_name!r} converter targets; pass the arch '
                '(--check-config CONFIG)')
        arch_type = matches[0]
    return dict(type=arch_type)


def build_arch(arch):
    """An ``nn.Module`` from a module, an arch config dict, or a full model
    config whose ``arch`` entry is the arch (``ImageRestorer(arch=...)``)."""
    if isinstance(arch, torch.nn.Module):
        return arch
    arch = dict(arch)
    if 'arch' in arch and isinstance(arch['arch'], dict):
        arch = dict(arch['arch'])
    return MODELS.build(arch)


def check_state_dict_fits(state_dict, model, source='checkpoint', infer_arch=None):
    """Raise a :class:`CheckpointConversionError` naming the first missing and
    unexpected keys and the shape mismatches when ``state_dict`` does not load
    strictly into ``model``; with ``infer_arch`` (a converter's), also the arch
    config the file does fit."""
    problems = state_dict_mismatch(model.state_dict(), state_dict, show=_SHOW)
    if not problems:
        return
    fits = infer_arch(state_dict) if infer_arch is not None else None
    if fits is not None:
        fits = 'dict(' + ', '.join(f'{k}={v!r}' for k, v in fits.items()) + ')'
        advice = f'. The file holds {fits}: pass a config whose model.arch is that (--check-config CONFIG).'
    else:
        advice = ('. Is it a checkpoint of this model? For a non-default variant pass its config '
                  '(--check-config CONFIG).')
    raise CheckpointConversionError(f'{source} does not fit {type(model).__name__}: ' + problems + advice)


def load_official_checkpoint(path, model_name, arch=None, key=None):
    """Read an official checkpoint and return its state_dict in restorelab's
    arch layout (keys of the arch, no ``arch.`` prefix), checked against ``arch``
    (a module or config; default: the converter's arch with default options)."""
    converter = get_converter(model_name)
    state_dict, _ = unwrap_state_dict(read_checkpoint_file(path), source=str(path), key=key)
    converted = converter(state_dict)
    model = build_arch(arch if arch is not None else default_arch_cfg(model_name, converter))
    check_state_dict_fits(converted, model, source=f'{path} (converted by {model_name!r})',
                          infer_arch=getattr(converter, 'infer_arch', None))
    return converted


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(obj):
    """Config values as builtin containers (weights_only-loadable)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def convert_official_checkpoint(model_name, src, dst, arch=None, key=None):
    """Convert ``src`` (an official release file) into ``dst``, a restorelab
    checkpoint ``{'state_dict': {'arch.<name>': tensor}, 'meta': {...}}`` that
    mmengine's ``load_checkpoint`` loads into ``ImageRestorer``. Returns the meta."""
    converter = get_converter(model_name)
    raw = read_checkpoint_file(src)
    state_dict, wrapper = unwrap_state_dict(raw, source=str(src), key=key)
    converted = converter(state_dict)
    arch_cfg = arch if arch is not None else default_arch_cfg(model_name, converter)
    model = build_arch(arch_cfg)
    check_state_dict_fits(converted, model, source=f'{src} (converted by {model_name!r})',
                          infer_arch=getattr(converter, 'infer_arch', None))
    # A TensorFlow checkpoint may be named by its prefix: hash its index file then.
    hashed = Path(src) if Path(src).is_file() else Path(checkpoint_prefix(src) + '.index')
    meta = dict(
        source=str(Path(src).resolve()),
        source_sha256=_sha256(hashed),
        source_key=wrapper,
        converter=model_name,
        arch=_plain(arch_cfg) if not isinstance(arch_cfg, torch.nn.Module) else type(arch_cfg).__name__,
        num_params=int(sum(v.numel() for v in converted.values())),
    )
    out = OrderedDict((ARCH_PREFIX + k, v.detach().cpu().contiguous()) for k, v in converted.items())
    with atomic_output(dst) as f:
        torch.save({'state_dict': out, 'meta': meta}, f)
    return meta


def import_project_plugins(repo_root):
    """Import every plugin package ``projects/<name>/<pkg>/`` under ``repo_root``
    so that plugin converters register. Returns ``{module: error}`` for the
    packages that failed to import (the caller reports them)."""
    repo_root = Path(repo_root)
    projects = repo_root / 'projects'
    failures = {}
    if not projects.is_dir():
        return failures
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))
    for project in sorted(p for p in projects.iterdir() if p.is_dir()):
        for pkg in sorted(p for p in project.iterdir() if (p / '__init__.py').is_file()):
            if pkg.name in ('configs', 'tests'):
                continue
            module = f'projects.{project.name}.{pkg.name}'
            try:
                importlib.import_module(module)
            except Exception as err:  # reported to the user, never silently dropped
                failures[module] = f'{type(err).__name__}: {err}'
    return failures
