"""Converter for the DualGCN release's TensorFlow checkpoints
(``TrainedModel/model-<set>.index`` + ``.data-00000-of-00001`` in
xueyangfu/xueyangfu.github.io ``paper/2021/AAAI/code/``).

The release's variables are named by TensorFlow's layer numbering inside each variable
scope: ``Generator/<scope>/conv2d[_<i>]/{kernel,bias}``, ``<i>`` counting the convs in the
order ``model.py`` creates them. A basic unit creates 14 (:data:`UNIT_LAYERS`); a decoder
scope first creates its skip fusion, so its unit's convs are ``conv2d_1``..``conv2d_14``.
Kernels are ``(kh, kw, in, out)`` and become ``(out, in, kh, kw)``; the cGCN's two graph
convolutions (1x1 kernels) become ``nn.Linear`` weights ``(out, in)``.
"""
from collections import OrderedDict

from restorelab.utils.errors import CheckpointConversionError

from .official import register_converter

# The convs of one basic unit (release ``BasicUnit``) in the order the release creates them.
UNIT_LAYERS = ('sgcn.theta', 'sgcn.nu', 'sgcn.xi', 'sgcn.out',
               'dcm.conv1', 'dcm.conv2', 'dcm.conv3', 'dcm.conv4', 'dcm.fusion',
               'cgcn.zeta', 'cgcn.kappa', 'cgcn.graph_conv1', 'cgcn.graph_conv2', 'cgcn.out')
LINEAR_LAYERS = ('cgcn.graph_conv1', 'cgcn.graph_conv2')
NUM_ENCODERS = 5


def _tf_layer(index):
    return 'conv2d' if index == 0 else f'conv2d_{index}'


def release_layer_map():
    """``[(release layer scope, restorelab module name)]`` for every conv of the release's
    ``Inference``, in the release's scope order."""
    pairs = [('Generator/basic/conv2d', 'basic_fea0'), ('Generator/basic/conv2d_1', 'basic_fea1')]
    for scope in [f'encoder{k}' for k in range(NUM_ENCODERS)] + ['middle']:
        pairs += [(f'Generator/{scope}/{_tf_layer(i)}', f'{scope}.{name}')
                  for i, name in enumerate(UNIT_LAYERS)]
    for k in reversed(range(NUM_ENCODERS)):
        pairs.append((f'Generator/decoder{k}/conv2d', f'skip_fusion{k}'))
        pairs += [(f'Generator/decoder{k}/{_tf_layer(i + 1)}', f'decoder{k}.{name}')
                  for i, name in enumerate(UNIT_LAYERS)]
    pairs += [('Generator/reconstruct/conv2d', 'reconstruct0'),
              ('Generator/reconstruct/conv2d_1', 'reconstruct1')]
    return pairs


def infer_dualgcn_arch(state_dict):
    """The arch config a converted state_dict was saved from: ``dict(type='DualGCN',
    channels=width)`` (None when it cannot tell)."""
    weight = state_dict.get('basic_fea0.weight')
    return None if weight is None else dict(type='DualGCN', channels=int(weight.shape[0]))


@register_converter('dualgcn', arch_type='DualGCN', infer_arch=infer_dualgcn_arch)
def convert_dualgcn(state_dict):
    """Release variables (``Generator/encoder0/conv2d_5/kernel``) -> restorelab ``DualGCN``
    keys (``encoder0.dcm.conv2.weight``). Refuses a file whose variables are not exactly
    the release's, naming the first missing and unexpected ones."""
    layers = release_layer_map()
    expected = {f'{scope}/{part}' for scope, _ in layers for part in ('kernel', 'bias')}
    missing = sorted(expected - set(state_dict))
    unexpected = sorted(set(state_dict) - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing variables (first: {", ".join(missing[:5])})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected (first: {", ".join(unexpected[:5])})')
        raise CheckpointConversionError(
            'not a DualGCN checkpoint of the release (Generator/<scope>/conv2d_<i>/kernel|bias '
            'of model.py\'s Inference, read from its TensorFlow .index/.data files): '
            + '; '.join(parts))
    converted = OrderedDict()
    for scope, name in layers:
        kernel, bias = state_dict[f'{scope}/kernel'], state_dict[f'{scope}/bias']
        if kernel.dim() != 4:
            raise CheckpointConversionError(
                f'{scope}/kernel has shape {tuple(kernel.shape)}; expected a TensorFlow conv '
                'kernel (kh, kw, in, out)')
        if name.endswith(LINEAR_LAYERS):
            weight = kernel[0, 0].t()
        else:
            weight = kernel.permute(3, 2, 0, 1)
        converted[f'{name}.weight'] = weight.contiguous()
        converted[f'{name}.bias'] = bias.clone()
    return converted
