"""Converter for swz30/Restormer checkpoints (``{'params': state_dict}``)."""
from collections import OrderedDict

from .official import register_converter


@register_converter('restormer', arch_type='Restormer')
def convert_restormer(state_dict):
    """Official Restormer keys -> restorelab ``Restormer`` keys: the identity.

    restorelab's Restormer keeps the release's module names
    (``encoder_level1.0.attn.qkv_dwconv.weight``, ``down1_2.body.0.weight``...),
    so nothing is renamed; the arch check after conversion guards the layout.
    """
    return OrderedDict(state_dict)
