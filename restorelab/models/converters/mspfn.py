"""Converter for MSPFN's TensorFlow checkpoints (kuijiang94/MSPFN: the released
``MSPFN/epoch50`` of ``TEST_MSPFN_M17N1.py``'s network, scope ``generator``, blocks ``BCM*``;
and what ``train_MSPFN.py`` saves for ``MSPFN.py``'s network, scope ``model``, blocks
``URAB*``). The checkpoint is read without TensorFlow (:mod:`.tf_checkpoint`)."""
import re
from collections import OrderedDict

from .official import register_converter
from .tf_layout import conv_kernel, transposed_kernel_as_conv, without_optimizer_state

# How each kind of release layer's variables become restorelab keys (see archs/mspfn.py):
#   'conv': a stride-1 deconv_layer (+ prelu), a ConvPReLU here (kernel flipped, in/out swapped)
#   'down': a stride-2 conv_layer (+ prelu), a DownConvPReLU (HWIO -> OIHW)
#   'up':   a stride-2 deconv_layer (+ prelu), an UpConvPReLU (ConvTranspose2d layout)
#   'tail': the last stride-1 deconv_layer, a plain bias-free Conv2d
_LAYERS = [  # (pattern of the name under the root scope, restorelab module, kind)
    (r'rnn([124])', r'ife\1', 'conv'),
    *[(f'residual_memory/rain{tf_scale}_res{i}', f'cfm.rru{scale}.conv_{side}', 'conv')
      for tf_scale, scale in (('4', 4), ('2', 2), ('', 1)) for i, side in ((1, 'in'), (2, 'out'))],
    (r'residual_memory/upRMM4_2', 'cfm.up4_2', 'up'),
    (r'residual_memory/upRMM4_1', 'cfm.up4_1', 'up'),
    (r'residual_memory/upRMM2_1', 'cfm.up2_1', 'up'),
    (r'(?:URAB|BCM)4_(\d+)/down4_\d+', r'ffm.\1.block4.down', 'down'),
    (r'(?:URAB|BCM)4_(\d+)/up_\d+', r'ffm.\1.block4.up', 'up'),
    (r'(?:URAB|BCM)2_(\d+)/up(?:URAB|BCM)4_2_\d+', r'ffm.\1.up4_2', 'up'),
    (r'(?:URAB|BCM)2_(\d+)/down2_\d+', r'ffm.\1.block2.down', 'down'),
    (r'(?:URAB|BCM)2_(\d+)/up_\d+', r'ffm.\1.block2.up', 'up'),
    (r'(?:URAB|BCM)_(\d+)/up(?:URAB|BCM)4to1_\d+', r'ffm.\1.up4_1', 'up'),
    (r'(?:URAB|BCM)_(\d+)/up(?:URAB|BCM)2to1_\d+', r'ffm.\1.up2_1', 'up'),
    (r'(?:URAB|BCM)_(\d+)/down_\d+', r'ffm.\1.block1.down', 'down'),
    (r'(?:URAB|BCM)_(\d+)/up_\d+', r'ffm.\1.block1.up', 'up'),
    (r'rnn_recon4', 'rm.merge4', 'conv'),
    (r'rnn_recon2', 'rm.merge2', 'conv'),
    (r'rnn_recon', 'rm.merge1', 'conv'),
    (r'up4_2', 'rm.up4_2', 'up'),
    (r'up2_1', 'rm.up2_1', 'up'),
    (r'rnn5', 'rm.fuse', 'conv'),
    (r'rnn7', 'rm.tail', 'tail'),
]
_LAYERS = [(re.compile(f'^{pattern}/(weight|alpha)$'), target, kind)
           for pattern, target, kind in _LAYERS]
_WEIGHT_KEY = {'conv': 'conv.weight', 'down': 'conv.weight', 'up': 'deconv.weight'}
_LSTM = re.compile(r'^residual_memory/lstm_group(4|2|)/convLSTM/LSTM_conv/(weights|biases)$')
# tf.layers.conv2d names inside a CAU (the release's RCAB), in the order they are built.
_CAU = re.compile(r'^(?:URAB|BCM)(4|2|)_(\d+)/group_\d+_RCAB(\d+)/conv2d(_\d)?/(kernel|bias|alpha)$')
_CAU_LAYER = {None: 'conv1', '_1': 'conv2', '_2': 'reduce', '_3': 'expand'}
_CAU_PRELU = {None: 'prelu1', '_2': 'reduce_prelu'}
ROOT_SCOPES = ('generator/', 'model/')  # TEST_MSPFN*.py's Model, MSPFN.py's MODEL


def _convert_one(name, value):
    """``(restorelab key, tensor)`` of one release variable (name under the root scope), or
    ``None`` when the name is not one of the release network's."""
    for pattern, target, kind in _LAYERS:
        match = pattern.match(name)
        if match:
            module = match.expand(target)
            if match.group(match.lastindex) == 'alpha':
                return (f'{module}.prelu.weight', value) if kind != 'tail' else None
            if kind == 'tail':
                return f'{module}.weight', transposed_kernel_as_conv(value)
            weight = transposed_kernel_as_conv(value) if kind == 'conv' else conv_kernel(value)
            return f'{module}.{_WEIGHT_KEY[kind]}', weight
    match = _LSTM.match(name)
    if match:
        scale, variable = match.group(1) or '1', match.group(2)
        key = f'cfm.rru{scale}.lstm.conv.'
        return (key + 'weight', conv_kernel(value)) if variable == 'weights' else (key + 'bias', value)
    match = _CAU.match(name)
    if match:
        scale, block, cau, layer, variable = match.groups()
        prefix = f'ffm.{block}.block{scale or "1"}.caus.{int(cau) - 1}.'
        if variable == 'alpha':
            return (prefix + f'{_CAU_PRELU[layer]}.weight', value) if layer in _CAU_PRELU else None
        suffix = 'weight' if variable == 'kernel' else 'bias'
        return prefix + f'{_CAU_LAYER[layer]}.{suffix}', conv_kernel(value) if variable == 'kernel' else value
    return None


def infer_mspfn_arch(state_dict):
    """The arch config converted weights were saved from: ``dict(type='MSPFN', num_ffms=...,
    num_caus=...)``, the channel attention units per scale 1, 1/2, 1/4 counted in the first
    FFM (None when it cannot tell)."""
    ffms = {int(k.split('.')[1]) for k in state_dict if k.startswith('ffm.')}
    if not ffms:
        return None
    caus = tuple(len({k.split('.')[4] for k in state_dict if k.startswith(f'ffm.0.block{s}.caus.')})
                 for s in (1, 2, 4))
    return dict(type='MSPFN', num_ffms=max(ffms) + 1, num_caus=caus)


@register_converter('mspfn', arch_type='MSPFN', infer_arch=infer_mspfn_arch)
def convert_mspfn(state_dict):
    """TensorFlow variable names -> restorelab ``MSPFN`` keys.

    The root scope (``generator/`` or ``model/``) is removed and each layer renamed after the
    paper's modules (table above; e.g. ``generator/BCM2_3/down2_4/weight`` ->
    ``ffm.3.block2.down.conv.weight``, ``.../alpha`` -> ``....prelu.weight``). Kernels go from
    TensorFlow's layouts to PyTorch's; the stride-1 transposed convolutions become ordinary
    convolutions (flipped kernels). Optimizer state (``.../Adam``, ``beta1_power``,
    ``global_step``...) is dropped. Any other name is kept as it is, so that the check against
    the arch names it.
    """
    converted = OrderedDict()
    for name, value in without_optimizer_state(state_dict).items():
        root = next((r for r in ROOT_SCOPES if name.startswith(r)), None)
        result = _convert_one(name[len(root):], value) if root else None
        if result is None:
            converted[name] = value
        else:
            converted[result[0]] = result[1]
    return converted
