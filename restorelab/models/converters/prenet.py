"""Converters for csdwren/PReNet checkpoints (plain state_dicts in
``logs/<set>/<model>/net_latest.pth``), one per released family."""
from collections import OrderedDict

from .official import register_converter


def _identity(state_dict):
    return OrderedDict(state_dict)


@register_converter('prenet', arch_type='PReNet')
def convert_prenet(state_dict):
    """PReNet6 keys (``conv0.0.weight``, ``res_conv1..5``, ``conv_i/f/g/o``,
    ``conv.0``) are restorelab ``PReNet``'s: the identity."""
    return _identity(state_dict)


@register_converter('prenet_r', arch_type='PReNet_r')
def convert_prenet_r(state_dict):
    """PReNet6_r (one shared residual block ``res_conv1``): the identity."""
    return _identity(state_dict)


@register_converter('prn', arch_type='PRN')
def convert_prn(state_dict):
    """PRN6 (no LSTM gates): the identity."""
    return _identity(state_dict)


@register_converter('prn_r', arch_type='PRN_r')
def convert_prn_r(state_dict):
    """PRN6_r (no LSTM, one shared residual block): the identity."""
    return _identity(state_dict)
