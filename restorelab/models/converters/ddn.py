"""Converter for DDN's TensorFlow checkpoints (Xueyang Fu's ``CVPR17_training_code``:
``model/trained/model.{index,data-00000-of-00001}`` and what its ``training.py`` saves).

The checkpoint is read without TensorFlow (:mod:`.tf_checkpoint`: the prefix, its ``.index``
file, the folder, or the release's ``CVPR17_training_code.zip`` itself)."""
import re
from collections import OrderedDict

import torch

from .official import register_converter
from .tf_layout import conv_kernel, without_optimizer_state

# layer_<i>/conv_<i>/{kernel,bias} and layer_<i>/bn_<i>/{gamma,beta,moving_mean,moving_variance}
_TF_NAME = re.compile(r'^layer_(\d+)/(conv|bn)_(\d+)/(kernel|bias|gamma|beta|moving_mean|moving_variance)$')
_TORCH_NAME = {('conv', 'kernel'): 'conv.weight', ('conv', 'bias'): 'conv.bias',
               ('bn', 'gamma'): 'bn.weight', ('bn', 'beta'): 'bn.bias',
               ('bn', 'moving_mean'): 'bn.running_mean', ('bn', 'moving_variance'): 'bn.running_var'}


_ORDER = list(_TORCH_NAME.values()) + ['bn.num_batches_tracked']


def _layer_and_rest(key):
    layer, rest = key.split('.', 1)
    return int(layer[len('layer_'):]), rest


def infer_ddn_arch(state_dict):
    """The arch config converted weights were saved from: ``dict(type='DDN', num_features=...,
    num_units=...)`` (None when it cannot tell)."""
    layers = sorted({_layer_and_rest(k)[0] for k in state_dict if k.startswith('layer_')})
    first = state_dict.get('layer_1.conv.weight')
    if not layers or first is None or first.dim() != 4:
        return None
    return dict(type='DDN', num_features=int(first.shape[0]), num_units=(layers[-1] - 2) // 2)


@register_converter('ddn', arch_type='DDN', infer_arch=infer_ddn_arch)
def convert_ddn(state_dict):
    """TensorFlow variable names -> restorelab ``DDN`` keys.

    ``layer_<i>/conv_<i>/kernel`` (HWIO) -> ``layer_<i>.conv.weight`` (OIHW), ``.../bias`` ->
    ``.conv.bias``; ``layer_<i>/bn_<i>/{gamma,beta,moving_mean,moving_variance}`` ->
    ``layer_<i>.bn.{weight,bias,running_mean,running_var}``, plus each batch norm's
    ``num_batches_tracked`` (0: TensorFlow keeps no count; PyTorch uses it only with
    ``momentum=None``). Optimizer state (``.../Momentum``, ``global_step``) is dropped; any
    other name is kept as it is, so that the check against the arch names it.
    """
    converted = OrderedDict()
    for name, value in without_optimizer_state(state_dict).items():
        match = _TF_NAME.match(name)
        if match is None or match.group(1) != match.group(3):
            converted[name] = value
            continue
        layer, kind, _, variable = match.groups()
        key = f'layer_{layer}.{_TORCH_NAME[kind, variable]}'
        converted[key] = conv_kernel(value) if variable == 'kernel' else value
        if variable == 'moving_variance':
            converted[f'layer_{layer}.bn.num_batches_tracked'] = torch.tensor(0)
    ours = sorted((k for k in converted if '/' not in k),
                  key=lambda k: (_layer_and_rest(k)[0], _ORDER.index(_layer_and_rest(k)[1])))
    return OrderedDict([*((k, converted[k]) for k in ours),
                        *((k, v) for k, v in converted.items() if '/' in k)])
