"""Converter for deng-ai-lab/FADformer checkpoints: ``{'state_dict': ...}`` as its train_*.py save
them (``torch.save({'state_dict': network.state_dict()}, ...)`` of an ``nn.DataParallel``, hence
``module.`` prefixes, which the loader removes along with the wrapper).

Registered in ``restorelab.registry.CHECKPOINT_CONVERTERS`` as 'fadformer'. Values pass unchanged
(batch-norm running statistics and counters included); two module names differ (official -> ours)::

    <...>.mixer.mixer_gloal.FFC.<rest>  -> <...>.mixer.fusion.fourier_unit.<rest>
    <...>.mixer.mixer_gloal.<rest>      -> <...>.mixer.fusion.<rest>

Every other key keeps its name.
"""
import re
from collections import OrderedDict

from restorelab.models.converters.official import register_converter
from restorelab.utils.errors import CheckpointConversionError

from .fadformer import RELEASE_VARIANTS

_RENAMES = [
    (re.compile(r'\.mixer\.mixer_gloal\.FFC\.'), '.mixer.fusion.fourier_unit.'),
    (re.compile(r'\.mixer\.mixer_gloal\.'), '.mixer.fusion.'),
]
_STAGES = ('layer1', 'layer2', 'layer3', 'layer4', 'layer5')


def map_official_key(key):
    """Our name for one official FADformer key."""
    for pattern, replacement in _RENAMES:
        if pattern.search(key):
            return pattern.sub(replacement, key, count=1)
    return key


def infer_fadformer_arch(state_dict):
    """The ``FADformer`` arch config a converted state_dict was saved from, read off its keys and
    shapes (None when it is not a FADformer's)."""
    embed = state_dict.get('patch_embed.proj.weight')
    if embed is None or embed.dim() != 4:
        return None
    depths = []
    for stage in _STAGES:
        blocks = {int(m.group(1)) for k in state_dict for m in [re.match(rf'{stage}\.blocks\.(\d+)\.', k)] if m}
        if not blocks:
            return None
        depths.append(max(blocks) + 1)
    return dict(type='FADformer', in_channels=int(embed.shape[1]), out_channels=int(embed.shape[1]),
                dim=int(embed.shape[0]), depths=tuple(depths))


def variant_name(arch):
    """'FADformer' or 'FADformer_mini' for a config of one of the release's constructors, else None."""
    if arch is None:
        return None
    for name, variant in RELEASE_VARIANTS.items():
        if arch['dim'] == variant['dim'] and tuple(arch['depths']) == variant['depths']:
            return name
    return None


@register_converter('fadformer', arch_type='FADformer', infer_arch=infer_fadformer_arch)
def convert_fadformer(state_dict):
    """Official FADformer keys (the unwrapped ``state_dict``) -> restorelab ``FADformer`` keys (see the
    module doc). The result fits ``FADformer()`` (the release's ``FADformer()``); a
    ``FADformer_mini()`` file needs ``dim=24, depths=(2, 3, 4, 3, 2)`` (--check-config)."""
    if 'patch_embed.proj.weight' not in state_dict or not any('.mixer_gloal.' in k for k in state_dict):
        raise CheckpointConversionError(
            'FADformer converter: this is not a deng-ai-lab/FADformer state_dict (no patch_embed.proj.weight '
            f'or no <stage>.blocks.<i>.mixer.mixer_gloal.* keys); first keys: {sorted(state_dict)[:5]}')
    return OrderedDict((map_official_key(k), v) for k, v in state_dict.items())
