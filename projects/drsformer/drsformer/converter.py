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

from restorelab.models.converters.renaming import apply_rules, rename_checked, require_tensor_dict, required_tensors
from restorelab.models.converters.restormer import restormer_body_config
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
    return apply_rules(key, _RULES, default=None if re.match(_MEFC, key) else key)


def infer_config(state_dict):
    """DRSformer constructor arguments read off an official state_dict's shapes."""
    embed, output = required_tensors(
        state_dict, ('patch_embed.proj.weight', 'output.weight'), 'DRSformer',
        'an official DRSformer state_dict', 'keys like patch_embed.proj.weight, encoder_level1.0.attn.qkv.weight '
        '(the "params" dict of a cschenxiang/DRSformer checkpoint)')
    dim = embed.shape[0]
    body = restormer_body_config(state_dict, dim, ('encoder_level1', 'encoder_level2', 'encoder_level3', 'latent'))
    step_indices = {int(m.group(1)) for k in state_dict
                    for m in [re.match(r'encoder_level0\.layers\.1\._ops\.(\d+)\.', k)] if m}
    return dict(
        in_channels=embed.shape[1], out_channels=output.shape[0], dim=dim, **body,
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
    require_tensor_dict(state_dict, 'DRSformer', 'the "params" dict')
    return rename_checked(
        state_dict, map_official_key, DRSformer, infer_config(state_dict), 'DRSformer',
        'Pass the "params" (or "params_ema") dict of a cschenxiang/DRSformer checkpoint, unmodified.')


convert_drsformer.arch_type = 'DRSformer'  # the arch its output fits (tools/convert_checkpoint.py)
