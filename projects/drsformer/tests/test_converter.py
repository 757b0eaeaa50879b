"""The official-checkpoint key mapping, guarded by a written-down list of the release's keys and shapes."""
import json
from pathlib import Path

import pytest
import torch

from projects.drsformer.drsformer import DRSformer
from projects.drsformer.drsformer.converter import map_official_key
from restorelab.registry import CHECKPOINT_CONVERTERS
from restorelab.testing import assert_conversion_refusals, assert_registers_only_when_imported

# Keys and shapes of the official DRSformer_arch.py state_dict for a tiny configuration,
# written down from reading the release's code.
OFFICIAL = json.loads((Path(__file__).parent / 'data' / 'official_keys_tiny.json').read_text())
CFG = OFFICIAL['config']
TINY = dict(dim=CFG['dim'], num_blocks=tuple(CFG['num_blocks']), heads=tuple(CFG['heads']),
            ffn_expansion_factor=CFG['ffn_expansion_factor'])
MEFC_PREFIXES = ('encoder_level0.', 'refinement.')


def official_state_dict(use_mefc=True):
    """Random tensors with the official names and shapes (each value distinct, to follow it through)."""
    keys = {k: v for k, v in OFFICIAL['keys'].items() if use_mefc or not k.startswith(MEFC_PREFIXES)}
    return {k: torch.randn(shape) for k, shape in keys.items()}


@pytest.mark.parametrize('use_mefc', [True, False])
def test_every_official_key_maps_onto_a_parameter_of_the_same_shape(use_mefc):
    official = official_state_dict(use_mefc)
    ours = DRSformer(**TINY, use_mefc=use_mefc).state_dict()
    mapped = {map_official_key(k): k for k in official}
    assert None not in mapped
    assert len(mapped) == len(official)  # no two official keys land on one name
    assert set(mapped) == set(ours)  # nothing left over on either side
    for new, old in mapped.items():
        assert ours[new].shape == official[old].shape, (old, new)


@pytest.mark.parametrize('use_mefc', [True, False])
def test_converted_weights_load_strictly_and_keep_their_values(use_mefc):
    official = official_state_dict(use_mefc)
    convert = CHECKPOINT_CONVERTERS.get('drsformer')
    converted = convert(official)
    net = DRSformer(**TINY, use_mefc=use_mefc)
    net.load_state_dict(converted, strict=True)
    state = net.state_dict()
    for old, value in official.items():
        assert torch.equal(state[map_official_key(old)], value)


def test_only_mefc_keys_are_renamed():
    ours = set(DRSformer(**TINY).state_dict())
    outside = [k for k in OFFICIAL['keys'] if not k.startswith(MEFC_PREFIXES)]
    assert outside and all(map_official_key(k) == k and k in ours for k in outside)
    assert all(map_official_key(k) != k for k in OFFICIAL['keys'] if k.startswith(MEFC_PREFIXES))


def test_some_renames_spelled_out():
    for key in ('patch_embed.proj.weight', 'down1_2.body.0.weight', 'latent.3.norm2.body.bias',
                'latent.3.attn.attn4'):
        assert map_official_key(key) == key
    assert map_official_key('refinement.layers.0.ca_fc.2.bias') == 'refinement.gate.fc2.bias'
    assert map_official_key('encoder_level0.layers.1._ops.2._ops.3.op.3.weight') == \
        'encoder_level0.steps.2.experts.sep7x7.dw2.weight'
    assert map_official_key('encoder_level0.layers.1._ops.0._ops.5.op.1.weight') == \
        'encoder_level0.steps.0.experts.dil5x5.pw.weight'
    assert map_official_key('refinement.layers.1._ops.3._out.0.weight') == 'refinement.steps.3.fuse.weight'
    assert map_official_key('refinement.layers.1.preprocess.op.0.weight') == 'refinement.preprocess.weight'
    assert map_official_key('refinement.layers.1._ops.0._ops.5.op.3.weight') is None


def test_bad_state_dicts_are_refused_with_the_keys_listed():
    assert_conversion_refusals(
        CHECKPOINT_CONVERTERS.get('drsformer'), official_state_dict(), drop='latent.0.attn.qkv.weight',
        extra='latent.0.attn.extra', reshape=('output.weight', (3, 8, 5, 5)),
        listed=['missing (1, our names): latent.0.attn.qkv.weight',
                'unexpected (1, official names): latent.0.attn.extra',
                'output.weight: (3, 8, 5, 5) vs expected (3, 8, 3, 3)'],
        foreign={'params': torch.zeros(1)}, not_found="'patch_embed.proj.weight' not found", wrapper='params')


def test_plugin_registers_only_when_imported():
    assert_registers_only_when_imported('projects.drsformer.drsformer', [
        ('MODELS', 'DRSformer', 'DRSformer'), ('CHECKPOINT_CONVERTERS', 'drsformer', 'convert_drsformer')])
