"""Converter for csdwren/RecDerain BRN checkpoints (``logs/<set>/BRN/net_latest.pth``:
a plain state_dict saved from DataParallel, ``module.`` prefixes removed by the loader)."""
from collections import OrderedDict

from .official import register_converter

# Built by the release's BRN (and AIDNet's copy of it) but never called by its forward.
UNUSED_RELEASE_BLOCKS = ('res_conv4_r.', 'res_conv5_r.')


def drop_unused_rain_blocks(state_dict):
    """The state_dict without the release's unused ``res_conv4_r``/``res_conv5_r``
    (8 tensors, 36,992 values); every other key unchanged and in order."""
    return OrderedDict((k, v) for k, v in state_dict.items()
                       if not k.startswith(UNUSED_RELEASE_BLOCKS))


@register_converter('brn', arch_type='BRN')
def convert_brn(state_dict):
    """Official BRN keys -> restorelab ``BRN`` keys: the same names (``conv0``,
    ``res_conv1..5``, ``conv_i/f/g/o``, ``conv``, ``conv0_r``, ``res_conv1..3_r``,
    ``conv_i/f/g/o_r``, ``conv_r``) without the two rain-branch residual blocks the
    release builds and never uses."""
    return drop_unused_rain_blocks(state_dict)
