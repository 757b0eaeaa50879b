"""Converter for SPANet checkpoints in the layout of stevewongv/SPANet's ``main.py``
(``{'net': state_dict, 'clock': step, 'opt': optimizer state}``, files named ``latest`` or
``step_<N>``): the release's ``model/latest`` and csdwren/RecDerain's
``logs/Rain{Heavy,Light}/SPANet/*`` (saved from DataParallel: ``module.`` prefixes, removed by
the loader). The loader takes the weights from ``net``; the optimizer state is not read."""
import re
from collections import OrderedDict

from .official import register_converter

_INPUT_CONV, _OUTPUT_CONV = 'conv_in.0.weight', 'conv_out.0.weight'


def reverse_colour_channels(state_dict):
    """The release's BGR weights as RGB weights: ``conv_in.0`` takes its 3 input channels in
    reverse order and ``conv_out.0`` gives its 3 outputs in reverse order (neither has a bias).
    Every other tensor is passed through unchanged (the same object)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        if key == _INPUT_CONV and value.dim() == 4 and value.shape[1] == 3:
            value = value.flip(1)
        elif key == _OUTPUT_CONV and value.dim() == 4 and value.shape[0] == 3:
            value = value.flip(0)
        out[key] = value
    return out


def infer_spanet_arch(state_dict):
    """The ``SPANet`` arch config a state_dict's keys and shapes imply (``channels`` and the
    number of residual blocks), or None when they are not a SPANet's. How the blocks split
    into head, attentive stages and tail leaves no trace in the weights: a count other than
    the release's 17 is reported as ``num_tail_blocks`` added to or taken from the default
    split."""
    if _INPUT_CONV not in state_dict or 'SAM1.conv_in.weight' not in state_dict:
        return None
    blocks = {int(m.group(1)) for k in state_dict if (m := re.match(r'res_block(\d+)\.', k))}
    if blocks != set(range(1, len(blocks) + 1)):
        return None
    arch = dict(type='SPANet', channels=int(state_dict[_INPUT_CONV].shape[0]))
    if len(blocks) != 17:
        arch['num_tail_blocks'] = len(blocks) - 15
    return arch


@register_converter('spanet', arch_type='SPANet', infer_arch=infer_spanet_arch)
def convert_spanet(state_dict):
    """Official SPANet keys -> restorelab ``SPANet`` keys: the same names (``conv_in.0``,
    ``SAM1.*``, ``res_block<i>.group1.conv{1,2,3}``, ``conv_out.0``); the colour channels of the
    first and last convolutions reversed (BGR -> RGB, see restorelab/models/archs/spanet.py)."""
    return reverse_colour_channels(state_dict)
