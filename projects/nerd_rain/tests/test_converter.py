"""The official-checkpoint key mapping, guarded by a written-down list of the release's keys and
shapes; conversion of a file in the release's format and refusal of other models' and variants'."""
import ast
import json
from pathlib import Path

import pytest
import torch

from projects.nerd_rain.nerd_rain import NeRDRain, WarmupCosineLR, convert_nerd_rain
from projects.nerd_rain.nerd_rain.converter import infer_config, map_official_key
from restorelab.models.converters import convert_official_checkpoint, load_official_checkpoint
from restorelab.registry import CHECKPOINT_CONVERTERS, MODELS, PARAM_SCHEDULERS
from restorelab.testing import assert_conversion_refusals
from restorelab.utils.errors import CheckpointConversionError

ROOT = Path(__file__).resolve().parents[3]
OFFICIAL = json.loads((Path(__file__).parent / 'data' / 'official_keys_tiny.json').read_text())
CFG = OFFICIAL['config']
TINY = dict(dim=CFG['dim'], num_blocks=tuple(CFG['num_blocks']), heads=tuple(CFG['heads']),
            inr_hidden=tuple(CFG['inr_hidden']), inr_frequencies=CFG['inr_frequencies'])


def official_state_dict():
    """Random tensors with the official names and shapes (each value distinct, to follow it through)."""
    return {k: 0.1 * torch.randn(shape) for k, shape in OFFICIAL['keys'].items()}


def test_every_official_key_maps_onto_a_parameter_of_the_same_shape():
    official = official_state_dict()
    ours = NeRDRain(**TINY).state_dict()
    mapped = {map_official_key(k): k for k in official}
    assert None not in mapped
    assert len(mapped) == len(official) == len(ours)  # one to one, nothing left over
    assert set(mapped) == set(ours)
    for new, old in mapped.items():
        assert ours[new].shape == official[old].shape, (old, new)


def test_some_renames_spelled_out():
    expected = {
        'patch_embed_mid.proj.weight': 'scale2.patch_embed.proj.weight',
        'encoder_level1_small.0.attn.qkv_dwconv.main.0.weight':
            'scale1.unets.0.encoder_level1.0.attn.qkv_dwconv.weight',
        'latent_max3.1.ffn.dwconv.main.0.weight': 'scale3.unets.2.latent.1.ffn.dwconv.weight',
        'decoder_level2_mid2.0.norm2.body.bias': 'scale2.unets.1.decoder_level2.0.norm2.body.bias',
        'down1_2_mid.body.0.weight': 'scale2.unets.0.down1_2.body.0.weight',
        'down1_2_mid2.body.0.weight': 'scale2.unets.1.down1_2.body.0.weight',
        'reduce_chan_level1_max3.weight': 'scale3.unets.2.reduce_chan_level1.weight',
        'up2_1_max.body.0.weight': 'scale3.unets.0.up2_1.body.0.weight',
        'output_small.weight': 'scale1.output.weight',
        'output_mid_context.weight': 'scale2.contexts.0.weight',
        'output_max_context2.weight': 'scale3.contexts.1.weight',
        'INR.imnet.layers.4.bias': 'scale1.inr.imnet.layers.4.bias',
        'INR2.imnet.layers.0.weight': 'scale2.inr.imnet.layers.0.weight',
        'upsmall2mid2.body.0.weight': 'scale1.inr.feature_upsample.1.body.0.weight',
        'upmid2max1.body.0.weight': 'scale2.inr.feature_upsample.0.body.0.weight',
        'BF2.gamma1.bias': 'scale3.bfpus.1.gamma1.bias',
        'BF3.query_conv.weight': 'scale2.bfpus.0.query_conv.weight',
    }
    for old, new in expected.items():
        assert map_official_key(old) == new, old
    for foreign in ('patch_embed.proj.weight', 'encoder_level1.0.attn.qkv.weight', 'BF4.gamma1.bias',
                    'output_max_context3.weight', 'latent_max4.0.attn.temperature'):
        assert map_official_key(foreign) is None, foreign


def test_converted_weights_load_strictly_and_keep_their_values():
    official = official_state_dict()
    converted = CHECKPOINT_CONVERTERS.get('nerd_rain')(official)
    net = NeRDRain(**TINY)
    net.load_state_dict(converted, strict=True)
    state = net.state_dict()
    for old, value in official.items():
        assert torch.equal(state[map_official_key(old)], value)
    assert infer_config(converted) == dict(TINY, inp_channels=3, out_channels=3, ffn_expansion_factor=2.66,
                                           bias=False, LayerNorm_type='WithBias')


def test_a_release_file_round_trips_through_the_loader(tmp_path):
    """The release's train.py format (DataParallel keys under 'state_dict', beside 'epoch' and the
    optimizer) converts into a restorelab checkpoint that loads and gives the same output."""
    official = official_state_dict()
    source = NeRDRain(**TINY)
    source.load_state_dict(CHECKPOINT_CONVERTERS.get('nerd_rain')(official))
    optimizer = torch.optim.Adam(source.parameters(), lr=1e-4)
    path = tmp_path / 'model_best.pth'
    torch.save({'epoch': 7, 'state_dict': {f'module.{k}': v for k, v in official.items()},
                'optimizer': optimizer.state_dict()}, path)
    arch = dict(type='NeRDRain', **TINY)
    loaded = load_official_checkpoint(path, 'nerd_rain', arch=arch)
    meta = convert_official_checkpoint('nerd_rain', path, tmp_path / 'ours.pth', arch=arch)
    assert meta['source_key'] == 'state_dict' and meta['num_params'] == sum(v.numel() for v in official.values())
    saved = torch.load(tmp_path / 'ours.pth', weights_only=True)['state_dict']
    assert set(saved) == {f'arch.{k}' for k in loaded}
    net = NeRDRain(**TINY).eval()
    net.load_state_dict(loaded)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), source.eval()(x))


def test_bad_state_dicts_are_refused_with_the_keys_listed():
    assert_conversion_refusals(
        CHECKPOINT_CONVERTERS.get('nerd_rain'), official_state_dict(),
        drop='latent_mid2.0.attn.qkv.weight', extra='latent_mid2.0.attn.extra',
        reshape=('output_max.weight', (3, 8, 5, 5)),
        listed=['missing (1, our names): scale2.unets.1.latent.0.attn.qkv.weight',
                'unexpected (1, official names): latent_mid2.0.attn.extra',
                'scale3.output.weight: (3, 8, 5, 5) vs expected (3, 8, 3, 3)'],
        foreign={'patch_embed.proj.weight': torch.zeros(48, 3, 3, 3)},  # a Restormer/DRSformer file
        not_found="'scale1.patch_embed.proj.weight' not found", wrapper='state_dict')


def test_another_variant_is_refused_by_the_default_arch_naming_its_options(tmp_path):
    """A file of another width/depth (the tiny one here; NeRD-Rain-S is dim=32) checked against the
    default NeRD-Rain: the error names the arch options the weights need."""
    path = tmp_path / 'other_variant.pth'
    torch.save({'epoch': 1, 'state_dict': official_state_dict()}, path)
    with pytest.raises(CheckpointConversionError,
                       match=r"dict\(type='NeRDRain', dim=8, num_blocks=\(1, 2, 1\), heads=\(1, 2, 2\), "
                             r"inr_hidden=\(16, 16\)\)"):
        load_official_checkpoint(path, 'nerd_rain')
    assert load_official_checkpoint(path, 'nerd_rain', arch=dict(type='NeRDRain', **TINY))


def test_restorelab_imports_no_module_of_the_plugin():
    """Deleting projects/nerd_rain removes the model: no module of restorelab imports the plugin by
    name, statically or as a dotted string for importlib (restorelab imports plugins only by walking
    projects/, and a config's custom_imports names them); importing the plugin registers its parts.
    Read off restorelab's sources rather than in a second interpreter (which costs seconds)."""
    found = []
    for path in sorted((ROOT / 'restorelab').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or '']
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value] if 'projects.nerd_rain' in node.value else []
            else:
                continue
            found += [f'{path.relative_to(ROOT)}:{node.lineno}: {name}' for name in names
                      if name.split('.')[0] == 'projects' or 'projects.nerd_rain' in name]
    assert found == []
    assert MODELS.get('NeRDRain') is NeRDRain
    assert CHECKPOINT_CONVERTERS.get('nerd_rain') is convert_nerd_rain
    assert PARAM_SCHEDULERS.get('WarmupCosineLR') is WarmupCosineLR
