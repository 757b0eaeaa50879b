"""Converter for ZhendongWang6/Uformer checkpoints (``{'state_dict': ...}``,
saved from DataParallel: ``module.`` prefixes, removed by the loader)."""
from collections import OrderedDict

from .official import register_converter


@register_converter('uformer', arch_type='Uformer')
def convert_uformer(state_dict):
    """Official Uformer keys -> restorelab ``Uformer`` keys: the identity.

    restorelab's Uformer keeps the release's module names (``encoderlayer_0``,
    ``dowsample_0.conv.0``, ``blocks.N.attn.qkv.to_kv``, ``modulator``...) and
    its persistent ``relative_position_index`` buffers.
    """
    return OrderedDict(state_dict)
