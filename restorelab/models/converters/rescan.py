"""Converter for RESCAN checkpoints in the layout of XiaLiPKU/RESCAN's ``train.py``
(``{'net': state_dict, 'clock': step, 'opt': optimizer state}``, files named ``latest`` or
``step_<N>``), which csdwren/RecDerain's ``logs/Rain{Heavy,Light}/RESCAN/latest`` share.
The loader takes the weights from ``net``; the optimizer state is not read."""
import re
from collections import OrderedDict

from .official import register_converter

# Layer 0's convolutions on its input (the image), and the last layer (the rain estimate).
_INPUT_CONV = re.compile(r'rnns\.0\.conv(_x[a-z]?)?\.weight$')
_OUTPUT_CONV = re.compile(r'dec\.3\.(weight|bias)$')
_UNIT_BY_KEY = {'conv': 'Conv', 'conv_x': 'ConvRNN', 'conv_xz': 'ConvGRU', 'conv_xf': 'ConvLSTM'}


def reverse_colour_channels(state_dict):
    """The release's BGR weights as RGB weights: layer 0's input convolutions take their
    3 input channels in reverse order and the last layer gives its 3 outputs in reverse
    order. Every other tensor is passed through unchanged (the same object)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        if _INPUT_CONV.match(key) and value.dim() == 4 and value.shape[1] == 3:
            value = value.flip(1)
        elif _OUTPUT_CONV.match(key) and value.shape[0] == 3:
            value = value.flip(0)
        out[key] = value
    return out


def infer_rescan_arch(state_dict):
    """The ``RESCAN`` arch config a state_dict's keys and shapes imply (``unit``, ``depth``,
    ``channels``, ``use_se``), or None when they are not a RESCAN's. ``prediction`` and
    ``num_stages`` leave no trace in the weights (the release's settings.py ``frame`` and
    ``stage_num``)."""
    names = {k.split('.')[2] for k in state_dict if k.startswith('rnns.0.')}
    units = [_UNIT_BY_KEY[n] for n in names if n in _UNIT_BY_KEY]
    layers = {int(k.split('.')[1]) for k in state_dict if re.match(r'rnns\.\d+\.', k)}
    if len(units) != 1 or 'dec.0.weight' not in state_dict or layers != set(range(len(layers))):
        return None
    return dict(type='RESCAN', unit=units[0], depth=len(layers) + 2,
                channels=int(state_dict['dec.0.weight'].shape[0]),
                use_se=any('.se.fc.' in k or k.startswith('dec.1.fc.') for k in state_dict))


@register_converter('rescan', arch_type='RESCAN', infer_arch=infer_rescan_arch)
def convert_rescan(state_dict):
    """Official RESCAN keys -> restorelab ``RESCAN`` keys: the same names (``rnns.<i>.conv_*``,
    ``rnns.<i>.se.fc.{0,2}``, ``dec.{0,1,3}``); the colour channels of the first and last
    layers reversed (BGR -> RGB, see restorelab/models/archs/rescan.py)."""
    return reverse_colour_channels(state_dict)
