"""A model reference becomes a model here and nowhere else: :func:`load_restorer`.

A reference is one of

- ``dict(config=CONFIG, checkpoint=CKPT)``: a restorelab config (path, Config or dict) and its
  checkpoint (restorelab's, or converted by tools/convert_checkpoint.py; None: the initial
  weights); with ``convert='<converter>'`` (and ``convert_key``) the checkpoint is an official
  release, converted in memory;
- a released model's name, ``'prenet_rain100h'`` or ``dict(zoo='prenet_rain100h')``: fetched
  into the cache once, verified and converted (:mod:`restorelab.apis.zoo`);
- an exported ``'model.onnx'``, or ``dict(onnx='model.onnx', config=CONFIG)`` (also written
  ``dict(config=CONFIG, checkpoint='model.onnx', backend='onnxruntime')``): run by ONNX
  Runtime on the CPU; the config, when given, must build the arch the file holds;
- ``'identity'`` or ``dict(type='identity')``: the input itself (the score of doing nothing).

``init_model``, tools/derain.py, tools/test.py, tools/deploy/export_onnx.py, the benchmark and
the web app all resolve references through this module.
"""
import os
from collections import OrderedDict

import torch.nn as nn

from restorelab.utils.errors import (CheckpointMismatchError, CheckpointNotFoundError, DeviceError,
                                     ModelRefError)
from .building import build_restorer, load_config

KINDS = ('model', 'released', 'onnx', 'identity')
REF_KEYS = ('type', 'config', 'checkpoint', 'convert', 'convert_key', 'backend', 'zoo', 'onnx')
FORMS = ("dict(config='CONFIG.py', checkpoint='CKPT.pth'[, convert='<converter>']), a released "
         "model's name (or dict(zoo=NAME)), 'MODEL.onnx' (or dict(onnx='MODEL.onnx', "
         "config='CONFIG.py')), or 'identity'")


class IdentityArch(nn.Module):
    """The arch of the identity model: the rainy input is its own output."""
    size_multiple = 1

    def forward(self, x):
        return x


def _is_path(value):
    return isinstance(value, (str, os.PathLike)) and bool(os.fspath(value))


def model_ref(ref):
    """``ref`` in its checked form: ``dict(kind=..., config, checkpoint, convert, convert_key,
    zoo, onnx)``; a :class:`ModelRefError` names what is wrong and lists the forms."""
    from .zoo import find_release, is_released_name

    if isinstance(ref, (str, os.PathLike)):
        text = os.fspath(ref)
        if text == 'identity':
            ref = dict(type='identity')
        elif text.endswith('.onnx'):
            ref = dict(onnx=text)
        elif is_released_name(text):
            ref = dict(zoo=text)
        elif os.path.isfile(text):
            raise ModelRefError(f'{text!r} is a file alone: a config needs its checkpoint, '
                                f"dict(config={text!r}, checkpoint='CKPT.pth'); a reference is {FORMS}.")
        else:
            find_release(text)  # the error lists the released names
    if not isinstance(ref, dict):
        raise ModelRefError(f'a model reference is {FORMS}; got {ref!r}')
    unknown = sorted(k for k in ref if k not in REF_KEYS)
    if unknown:
        raise ModelRefError(f'model reference {ref!r}: unknown key(s) {unknown}; it takes '
                            f'{list(REF_KEYS)} ({FORMS})')
    out = dict(config=ref.get('config'), checkpoint=ref.get('checkpoint'), zoo=ref.get('zoo'),
               convert=ref.get('convert'), convert_key=ref.get('convert_key'), onnx=ref.get('onnx'))
    backend = ref.get('backend', 'pytorch')
    if backend not in ('pytorch', 'onnxruntime'):
        raise ModelRefError(f"model reference {ref!r}: backend={backend!r}; expected one of "
                            "('pytorch', 'onnxruntime')")
    if backend == 'onnxruntime' or (out['onnx'] is None and _is_path(out['checkpoint'])
                                    and os.fspath(out['checkpoint']).endswith('.onnx')):
        out['onnx'], out['checkpoint'] = out['onnx'] or out['checkpoint'], None
    if ref.get('type') == 'identity':
        kind, needs, excludes = 'identity', (), ('config', 'checkpoint', 'zoo', 'onnx', 'convert')
    elif ref.get('type') not in (None, 'model', 'released'):
        raise ModelRefError(f"model reference {ref!r}: type={ref['type']!r}; expected 'identity' "
                            f'(or no type): a reference is {FORMS}')
    elif out['zoo'] is not None:
        kind, needs, excludes = 'released', ('zoo',), ('config', 'checkpoint', 'onnx', 'convert')
    elif out['onnx'] is not None:
        kind, needs, excludes = 'onnx', ('onnx',), ('convert', 'convert_key')
    elif out['config'] is not None:
        kind, needs, excludes = 'model', ('config',), ()
    else:
        raise ModelRefError(f'model reference {ref!r} is of no known kind: it is {FORMS}')
    given = [k for k in excludes if out[k] is not None]
    if given:
        raise ModelRefError(f'model reference {ref!r}: a {kind} reference takes no {given}')
    for key in needs + tuple(k for k in ('checkpoint', 'onnx') if out[k] is not None):
        if key != 'config' and not _is_path(out[key]):
            raise ModelRefError(f'model reference {ref!r}: {key} must be a file path or name, '
                                f'got {out[key]!r}')
    if kind == 'released':
        from .zoo import _not_downloadable
        release = find_release(out['zoo'])
        if not release.downloadable:  # where to download it and how to convert it
            raise _not_downloadable(release)
    if out['convert'] is not None and not isinstance(out['convert'], str):
        raise ModelRefError(f'model reference {ref!r}: convert must be the name of a checkpoint '
                            f"converter (e.g. 'drsformer'), got {out['convert']!r}")
    return dict(out, kind=kind)


def describe_ref(ref):
    """Where a model comes from, in a few words."""
    ref = model_ref(ref)
    return {'identity': lambda: 'the input itself (the score of doing nothing)',
            'released': lambda: f'released model {ref["zoo"]} (fetched into the cache when first used)',
            'onnx': lambda: f'{ref["onnx"]} in ONNX Runtime (CPU)',
            'model': lambda: f'{ref["config"]} + {ref["checkpoint"]}' + (
                f' (official, converted by {ref["convert"]!r})' if ref['convert'] else '')}[
        ref['kind']]()


def load_weights(model, checkpoint):
    """Load the weights in file ``checkpoint`` into ``model`` (an ImageRestorer) strictly.

    The file is read with ``torch.load(weights_only=True)`` and restorelab's
    allow-list for its own training checkpoints (:func:`safe_torch_load`). Weights
    are taken from ``params``, ``params_ema`` or ``state_dict`` (in that order of
    preference; a mmengine checkpoint saved with EMAHook holds the EMA weights in
    ``state_dict``) or a flat dict; a ``module.`` prefix is dropped and a bare
    arch state_dict gets the ``arch.`` prefix. Returns the wrapper key used.

    Raises:
        CheckpointMismatchError: listing missing and unexpected keys and shape
            mismatches, with how to convert an official release.
    """
    from restorelab.engine.checkpoint import safe_torch_load
    from restorelab.models.converters.official import ARCH_PREFIX, unwrap_state_dict
    from restorelab.utils.state_dicts import state_dict_mismatch

    raw = safe_torch_load(checkpoint, map_location='cpu')
    try:
        state_dict, wrapper = unwrap_state_dict(raw, source=str(checkpoint))
    except ValueError as err:
        raise CheckpointMismatchError(str(err)) from None
    expected = model.state_dict()
    if (any(k.startswith(ARCH_PREFIX) for k in expected)
            and not any(k.startswith(ARCH_PREFIX) for k in state_dict)):
        state_dict = OrderedDict((ARCH_PREFIX + k, v) for k, v in state_dict.items())
    problems = state_dict_mismatch(expected, state_dict)
    if problems:
        raise CheckpointMismatchError(
            f'checkpoint {os.fspath(checkpoint)!r} (weights under {wrapper or "the top level"}) does '
            f'not fit the model built from the config: {problems}. Check that config and '
            'checkpoint belong together; an official release must first be converted with '
            '`python tools/convert_checkpoint.py MODEL IN.pth OUT.pth`.')
    model.load_state_dict(state_dict, strict=True)
    return wrapper


def check_device(device, what='device'):
    """``device`` as a string when it is 'cpu', 'cuda' or 'cuda:N' and usable on this machine; a
    :class:`DeviceError` naming ``what`` (e.g. '--device') and what to give otherwise."""
    import torch

    text = str(device)
    try:
        dev = torch.device(text) if text.split(':')[0] in ('cpu', 'cuda') else None
    except RuntimeError:
        dev = None
    if dev is None:
        raise DeviceError(f"{what} {text!r}: expected 'cpu' or 'cuda' (or 'cuda:N')")
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise DeviceError(f'{what} {text}: CUDA is not available on this machine; use cpu')
    return str(dev)


def load_restorer(ref, device='cpu', test_cfg=None):
    """The ImageRestorer a model reference names (see the module doc), in eval mode on
    ``device``, with ``test_cfg`` (padding, tiling, self-ensemble, ...) over its config's.

    Raises:
        DeviceError, ModelRefError and the zoo's, checkpoint's and converter's errors (all
        :class:`UserInputError`): naming the file or name and what to do.
    """
    from restorelab.engine.setup import setup_engine
    from restorelab.models.restorers import ImageRestorer
    from restorelab.models.restorers.inference_utils import check_test_cfg

    setup_engine()
    ref = model_ref(ref)
    kind = ref['kind']
    if kind == 'onnx':
        return _load_onnx(ref, device, test_cfg)
    device = check_device(device)
    if kind == 'identity':
        model = ImageRestorer(arch=IdentityArch(), pixel_loss=None)
    elif kind == 'released':
        from .zoo import get_released, load_released_weights
        released = get_released(ref['zoo'])
        model = build_restorer(released.config)
        load_released_weights(model, released)
        model.released = released
    else:
        config, checkpoint = ref['config'], ref['checkpoint']
        if isinstance(config, (str, os.PathLike)) and not os.path.isfile(config) \
                and checkpoint is not None:
            from .zoo import is_released_name
            if is_released_name(os.fspath(config)):
                raise ModelRefError(
                    f'{os.fspath(config)!r} is a released model name: it brings its own weights. '
                    f'Name it without a checkpoint, or pass a config file with your checkpoint.')
        model = build_restorer(config)
        if checkpoint is not None and not os.path.isfile(checkpoint):
            raise CheckpointNotFoundError(f'checkpoint file {os.fspath(checkpoint)!r} does not exist')
        if checkpoint is not None and ref['convert']:
            from restorelab.models.converters import load_official_checkpoint
            model.arch.load_state_dict(load_official_checkpoint(
                checkpoint, ref['convert'], arch=model.arch, key=ref['convert_key']), strict=True)
        elif checkpoint is not None:
            load_weights(model, checkpoint)
    if test_cfg:
        model.test_cfg = check_test_cfg({**model.test_cfg, **test_cfg}, model.size_multiple)
    model.ref = ref
    return model.to(device).eval()


def _load_onnx(ref, device, test_cfg):
    from restorelab.deploy import load_onnx_model

    path = os.fspath(ref['onnx'])
    if str(device) != 'cpu':
        raise ModelRefError(f'{path}: an exported .onnx runs in ONNX Runtime on the CPU; use '
                            f'device cpu (got {device})')
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f'ONNX file {path!r} does not exist')
    model = load_onnx_model(path, test_cfg)
    if ref['config'] is not None:
        arch = load_config(ref['config']).model.get('arch', {})
        expected = arch.get('type') if isinstance(arch, dict) else None
        if expected and expected != model.arch.arch_name:
            raise ModelRefError(f'{path!r} holds a {model.arch.arch_name} but its config '
                                f'{ref["config"]!r} builds a {expected}; export the config\'s '
                                'model with tools/deploy/export_onnx.py')
    model.ref = ref
    return model
