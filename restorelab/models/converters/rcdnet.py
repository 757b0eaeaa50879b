"""Converter for hongwang01/RCDNet checkpoints (``Pretrained Model/<set>/model_best.pt``: the
plain state_dict of the release's ``Mainnet``, saved by its ``model/__init__.py``)."""
import re
from collections import OrderedDict

from restorelab.utils.errors import CheckpointConversionError
from .official import register_converter

# Keys every RCDNet release file has, whatever its sizes.
REQUIRED = ('weight0', 'conv', 'eta2', 'eta11', 'eta12', 'tau', 'w_z_f',
            'xnet.resx1.0.weight', 'x_stage.0.resx1.0.weight', 'm_stage.0.resm1.0.weight',
            'm_stage.0.tau', 'fxnet.resx1.0.weight')
# Built by the release's Mainnet but never used by its forward.
UNUSED_PREFIXES = ('mnet.',)
UNUSED_KEYS = ('eta1',)
# The stage whose kernel copy the release's forward reads (self.conv[1,:,:,:,:]).
USED_KERNEL_COPY = 1


def _check_release_file(state_dict):
    missing = [k for k in REQUIRED if k not in state_dict]
    if missing:
        raise CheckpointConversionError(
            f'not an RCDNet checkpoint (converter \'rcdnet\'): it lacks {", ".join(missing[:5])}'
            f'{" ..." if len(missing) > 5 else ""} (first keys of the file: '
            f'{", ".join(list(state_dict)[:5])}). The converter reads the release\'s '
            'Pretrained Model/<set>/model_best.pt.')
    conv = state_dict['conv']
    if conv.dim() != 5 or conv.shape[0] <= USED_KERNEL_COPY:
        raise CheckpointConversionError(
            f'RCDNet checkpoint: conv has shape {tuple(conv.shape)}; the release stores S - 1 >= 2 '
            'copies of the rain kernels, (S-1, 3, num_M, k, k)')


def infer_rcdnet_arch(state_dict):
    """The ``RCDNet`` config a converted state_dict was saved from, read off its shapes
    (None when it is not an RCDNet state_dict)."""
    try:
        kernel, w_z = state_dict['weight0'], state_dict['w_z_f']
    except KeyError:
        return None
    stages = {int(m.group(1)) for k in state_dict for m in [re.match(r'x_stage\.(\d+)\.', k)] if m}
    blocks = {int(m.group(1)) for k in state_dict for m in [re.match(r'xnet\.resx(\d+)\.', k)] if m}
    return dict(type='RCDNet', stages=len(stages), num_M=int(kernel.shape[1]), num_Z=int(w_z.shape[0]),
                num_blocks=len(blocks), kernel_size=int(kernel.shape[-1]))


@register_converter('rcdnet', arch_type='RCDNet', infer_arch=infer_rcdnet_arch)
def convert_rcdnet(state_dict):
    """Official RCDNet keys -> restorelab ``RCDNet`` keys, in the file's order: the same names,
    ``conv`` reduced to the one kernel copy the release's forward reads (``conv[1]``), the
    unused ``mnet.*`` and ``eta1`` dropped."""
    _check_release_file(state_dict)
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(UNUSED_PREFIXES) or key in UNUSED_KEYS:
            continue
        out[key] = value[USED_KERNEL_COPY].clone() if key == 'conv' else value
    return out
