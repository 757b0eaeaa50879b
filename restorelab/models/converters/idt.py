"""Converter for jiexiaou/IDT checkpoints (``net_latest.pth`` of its
``train_derain.py``: a plain state_dict saved from DataParallel, so every key
starts with ``module.``, which the loader removes)."""
from collections import OrderedDict

from .official import register_converter


@register_converter('idt', arch_type='IDT')
def convert_idt(state_dict):
    """Official IDT keys -> restorelab ``IDT`` keys: the identity.

    restorelab's IDT keeps the release's module names (``encoderlayer_0``,
    ``dowsample_0.conv.0``, ``bottle``, ``blocks.N.attn.Position_Extract.0``,
    ``blocks.N.attn.qkv.to_kv``...). The release's ``relative_position_index``
    is a plain attribute, not in its checkpoints; here it is computed, so
    nothing is dropped or added.
    """
    return OrderedDict(state_dict)
