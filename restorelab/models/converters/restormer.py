"""Converter for swz30/Restormer checkpoints (``{'params': state_dict}``), and the reading of a
Restormer body's options off its keys and shapes (DRSformer's and NeRD-Rain's converters too:
their transformer levels keep Restormer's names)."""
from collections import OrderedDict

from .official import register_converter


def restormer_body_config(state_dict, dim, levels, prefix=''):
    """``num_blocks``, ``heads``, ``ffn_expansion_factor``, ``bias`` and ``layer_norm_type`` of the
    Restormer levels ``levels`` (``'encoder_level1'``, ..., ``'latent'``; blocks ``<level>.<i>.``)
    whose keys start with ``prefix``, read off a state_dict of width ``dim``. A level with no keys
    counts 0 blocks; one without ``attn.temperature`` 1 head."""
    num_blocks, heads = [], []
    for level in levels:
        start = f'{prefix}{level}.'
        blocks = {int(k[len(start):].split('.')[0]) for k in state_dict if k.startswith(start)}
        num_blocks.append(max(blocks) + 1 if blocks else 0)
        temperature = state_dict.get(f'{start}0.attn.temperature')
        heads.append(temperature.shape[0] if temperature is not None else 1)
    # hidden = int(dim * factor): the release's 2.66 when it fits, else a factor giving this hidden.
    project_in = state_dict.get(f'{prefix}encoder_level1.0.ffn.project_in.weight')
    expansion = 2.66
    if project_in is not None and int(dim * expansion) != project_in.shape[0] // 2:
        expansion = (project_in.shape[0] // 2 + 0.5) / dim
    return dict(
        num_blocks=tuple(num_blocks), heads=tuple(heads), ffn_expansion_factor=expansion,
        bias=f'{prefix}encoder_level1.0.attn.qkv.bias' in state_dict,
        layer_norm_type='WithBias' if f'{prefix}encoder_level1.0.norm1.body.bias' in state_dict else 'BiasFree')


@register_converter('restormer', arch_type='Restormer')
def convert_restormer(state_dict):
    """Official Restormer keys -> restorelab ``Restormer`` keys: the identity.

    restorelab's Restormer keeps the release's module names
    (``encoder_level1.0.attn.qkv_dwconv.weight``, ``down1_2.body.0.weight``...),
    so nothing is renamed; the arch check after conversion guards the layout.
    """
    return OrderedDict(state_dict)
