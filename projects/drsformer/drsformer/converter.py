"""Key mapping from official DRSformer checkpoints (cschenxiang/DRSformer) to this plugin's model.

Registered in ``restorelab.registry.CHECKPOINT_CONVERTERS`` as 'drsformer'; tools/convert_checkpoint.py
unwraps the BasicSR container (``params``) and calls it. Values are passed through unchanged: only
keys are renamed. Every key keeps its name except inside the two MEFCs, whose modules here are named
after what they are (the release's are positions in nested lists: ``layers.1._ops.2._ops.5.op.1``);
named experts also keep the subsets of the ablations (4 or 1 experts) unambiguous. The mapping
(official -> ours):

    M.layers.0.ca_fc.{0,2}.W                             -> M.gate.fc{1,2}.W
    M.layers.1.preprocess.op.0.W                         -> M.preprocess.W
    M.layers.1._ops.S._ops.E.op.{0,1,3,4}.W  (E = 0..3)  -> M.steps.S.experts.<sep1x1..sep7x7>.{dw1,pw1,dw2,pw2}.W
    M.layers.1._ops.S._ops.E.op.{0,1}.W      (E = 4..6)  -> M.steps.S.experts.<dil3x3..dil7x7>.{dw,pw}.W
    M.layers.1._ops.S._out.0.W                           -> M.steps.S.fuse.W

with M in {encoder_level0, refinement} (the two MEFCs).
"""
import re

import torch

from restorelab.registry import CHECKPOINT_CONVERTERS

from .drsformer import DRSformer
from .mefc import EXPERT_NAMES

SEP_CONV_LAYERS = {'0': 'dw1', '1': 'pw1', '3': 'dw2', '4': 'pw2'}
DIL_CONV_LAYERS = {'0': 'dw', '1': 'pw'}

_MEFC = r'(?P<m>encoder_level0|refinement)\.layers\.'
_RULES = [
    (re.compile(_MEFC + r'0\.ca_fc\.(?P<i>[02])\.(?P<p>\w+)$'),
     lambda g: f"{g['m']}.gate.fc{1 if g['i'] == '0' else 2}.{g['p']}"),
    (re.compile(_MEFC + r'1\.preprocess\.op\.0\.(?P<p>\w+)$'), lambda g: f"{g['m']}.preprocess.{g['p']}"),
    (re.compile(_MEFC + r'1\._ops\.(?P<s>\d+)\._ops\.(?P<e>[0-6])\.op\.(?P<l>\d+)\.(?P<p>\w+)$'),
     lambda g: _expert_key(g)),
    (re.compile(_MEFC + r'1\._ops\.(?P<s>\d+)\._out\.0\.(?P<p>\w+)$'), lambda g: f"{g['m']}.steps.{g['s']}.fuse.{g['p']}"),
]


def _expert_key(g):
    expert = int(g['e'])
    layers = SEP_CONV_LAYERS if expert < 4 else DIL_CONV_LAYERS
    if g['l'] not in layers:
        return None  # reported as an unexpected key
    return f"{g['m']}.steps.{g['s']}.experts.{EXPERT_NAMES[expert]}.{layers[g['l']]}.{g['p']}"


def map_official_key(key):
    """Our name for one official key; keys outside the MEFCs map to themselves.

    Returns None for a key inside an MEFC that matches no rule (it has no counterpart).
    """
    for pattern, rename in _RULES:
        match = pattern.match(key)
        if match:
            return rename(match.groupdict())
    if re.match(_MEFC, key):
        return None
    return key


def infer_config(state_dict):
    """DRSformer constructor arguments read off an official state_dict's shapes."""
    try:
        embed = state_dict['patch_embed.proj.weight']
        output = state_dict['output.weight']
    except KeyError as err:
        raise ValueError(
            f'DRSformer converter: key {err} not found; this is not an official DRSformer state_dict. '
            f'First keys seen: {sorted(state_dict)[:5]}. Expected keys like patch_embed.proj.weight, '
            'encoder_level1.0.attn.qkv.weight (the "params" dict of a cschenxiang/DRSformer checkpoint).') from None
    dim = embed.shape[0]
    levels = ['encoder_level1', 'encoder_level2', 'encoder_level3', 'latent']
    num_blocks, heads = [], []
    for level in levels:
        blocks = {int(k.split('.')[1]) for k in state_dict if k.startswith(level + '.')}
        num_blocks.append(max(blocks) + 1 if blocks else 0)
        temperature = state_dict.get(f'{level}.0.attn.temperature')
        heads.append(temperature.shape[0] if temperature is not None else 1)
    # hidden = int(dim * factor): the release's 2.66 when it fits, else a factor giving this hidden.
    project_in = state_dict.get('encoder_level1.0.ffn.project_in.weight')
    expansion = 2.66
    if project_in is not None and int(dim * expansion) != project_in.shape[0] // 2:
        expansion = (project_in.shape[0] // 2 + 0.5) / dim
    step_indices = {int(m.group(1)) for k in state_dict
                    for m in [re.match(r'encoder_level0\.layers\.1\._ops\.(\d+)\.', k)] if m}
    return dict(
        in_channels=embed.shape[1], out_channels=output.shape[0], dim=dim, num_blocks=tuple(num_blocks),
        heads=tuple(heads), ffn_expansion_factor=expansion,
        bias='encoder_level1.0.attn.qkv.bias' in state_dict,
        layer_norm_type='WithBias' if 'encoder_level1.0.norm1.body.bias' in state_dict else 'BiasFree',
        use_mefc=bool(step_indices),
        mefc_steps=max(step_indices) + 1 if step_indices else 4)


@CHECKPOINT_CONVERTERS.register_module(name='drsformer')
def convert_drsformer(state_dict):
    """Rename an official DRSformer state_dict (the unwrapped ``params`` dict) to this plugin's keys.

    The result is checked against a DRSformer built with the configuration read off the shapes (with
    or without MEFC, any dim/depth): every official key must map to a parameter of the same shape and
    every parameter must be covered; otherwise a ValueError lists the missing, unexpected and
    mismatched keys.
    """
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError('DRSformer converter: expected a dict of tensors (the "params" dict of an official '
                         f'checkpoint), got {type(state_dict).__name__}')
    config = infer_config(state_dict)
    with torch.device('meta'):  # shapes only: no memory, no initialisation
        expected = {k: v.shape for k, v in DRSformer(**config).state_dict().items()}

    converted, unexpected = {}, []
    for key, value in state_dict.items():
        new_key = map_official_key(key)
        if new_key is None or new_key not in expected:
            unexpected.append(key)
        else:
            converted[new_key] = value
    missing = sorted(set(expected) - set(converted))
    mismatched = [f'{k}: {tuple(v.shape)} vs expected {tuple(expected[k])}'
                  for k, v in converted.items() if v.shape != expected[k]]
    if missing or unexpected or mismatched:
        raise ValueError(
            f'DRSformer converter: the state_dict does not match a DRSformer with the configuration read '
            f'from its shapes ({config}).\n'
            f'  missing ({len(missing)}, our names): {_short(missing)}\n'
            f'  unexpected ({len(unexpected)}, official names): {_short(unexpected)}\n'
            f'  shape mismatches ({len(mismatched)}): {_short(mismatched)}\n'
            'Pass the "params" (or "params_ema") dict of a cschenxiang/DRSformer checkpoint, unmodified.')
    return converted


convert_drsformer.arch_type = 'DRSformer'  # the arch its output fits (tools/convert_checkpoint.py)


def _short(items, limit=20):
    items = list(items)
    return ', '.join(items[:limit]) + (f', ... ({len(items) - limit} more)' if len(items) > limit else '') or '-'
