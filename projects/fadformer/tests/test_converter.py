"""The official-checkpoint conversion, guarded by the release's keys and shapes for a small
configuration (tests/data/official_keys_tiny.json: the state_dict of the release's
FADBackbone(embed_dim=[8, 16, 32, 16, 8], depth=[1, 1, 2, 1, 1]))."""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from projects.fadformer.fadformer import (FADformer, convert_fadformer, infer_fadformer_arch, map_official_key,
                                         variant_name)
from restorelab.models.converters import convert_official_checkpoint, load_official_checkpoint
from restorelab.registry import CHECKPOINT_CONVERTERS
from restorelab.testing import assert_registers_only_when_imported
from restorelab.utils.errors import CheckpointConversionError

OFFICIAL = json.loads((Path(__file__).parent / 'data' / 'official_keys_tiny.json').read_text())
TINY = dict(dim=OFFICIAL['config']['dim'], depths=tuple(OFFICIAL['config']['depths']))


def official_state_dict():
    """Random tensors with the official names and shapes (counters as int64 scalars, as saved)."""
    gen = torch.Generator().manual_seed(0)
    return {k: (torch.tensor(7) if k.endswith('num_batches_tracked') else torch.randn(shape, generator=gen))
            for k, shape in OFFICIAL['keys'].items()}


def test_every_official_key_maps_onto_ours_with_the_same_shape():
    ours = {k: tuple(v.shape) for k, v in FADformer(**TINY).state_dict().items()}
    mapped = {map_official_key(k): tuple(shape) for k, shape in OFFICIAL['keys'].items()}
    assert len(mapped) == len(OFFICIAL['keys'])  # no two official keys on one name
    assert mapped == ours
    assert sum(p.numel() for p in FADformer(**TINY).parameters()) == OFFICIAL['parameters']


def test_the_renames_spelled_out():
    assert map_official_key('layer3.blocks.1.mixer.mixer_gloal.FFC.conv_layer.weight') == \
        'layer3.blocks.1.mixer.fusion.fourier_unit.conv_layer.weight'
    assert map_official_key('layer1.blocks.0.mixer.mixer_gloal.FFC.bn.running_var') == \
        'layer1.blocks.0.mixer.fusion.fourier_unit.bn.running_var'
    assert map_official_key('layer5.blocks.0.mixer.mixer_gloal.conv_mid.0.bias') == \
        'layer5.blocks.0.mixer.fusion.conv_mid.0.bias'
    assert map_official_key('layer2.blocks.0.mixer.mixer_gloal.bn.weight') == 'layer2.blocks.0.mixer.fusion.bn.weight'
    renamed = [k for k in OFFICIAL['keys'] if map_official_key(k) != k]
    assert renamed and all('.mixer_gloal.' in k for k in renamed)


def test_a_train_script_file_round_trips(tmp_path):
    """{'state_dict': DataParallel state_dict} as train_rain200.py saves it: converted, saved as a
    restorelab checkpoint, every value (batch-norm statistics and counters too) kept."""
    official = official_state_dict()
    src = tmp_path / 'FADformer_tiny.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in official.items()}}, src)
    arch = dict(type='FADformer', **TINY)
    state = load_official_checkpoint(src, 'fadformer', arch=arch)
    net = FADformer(**TINY)
    net.load_state_dict(state, strict=True)
    for key, value in official.items():
        assert torch.equal(net.state_dict()[map_official_key(key)], value), key
    meta = convert_official_checkpoint('fadformer', src, tmp_path / 'ours.pth', arch=arch)
    saved = torch.load(tmp_path / 'ours.pth', weights_only=True)
    assert meta['source_key'] == 'state_dict' and meta['num_params'] == sum(v.numel() for v in official.values())
    assert set(saved['state_dict']) == {f'arch.{k}' for k in net.state_dict()}


def test_another_variant_is_refused_naming_the_config_it_fits(tmp_path):
    src = tmp_path / 'tiny.pth'
    torch.save({'state_dict': official_state_dict()}, src)
    with pytest.raises(CheckpointConversionError,
                       match=r"does not fit FADformer.*dict\(type='FADformer', in_channels=3, out_channels=3, "
                             r"dim=8, depths=\(1, 1, 2, 1, 1\)\)"):
        load_official_checkpoint(src, 'fadformer')  # the default arch: the release's FADformer()
    # The release's second variant (FADformer_mini(): dim 24, depths 2-3-4-3-2), saved as train_*.py saves
    # it, against the default FADformer(): refused with the arch config of the mini's config file.
    mini = FADformer(dim=24, depths=(2, 3, 4, 3, 2)).state_dict()
    official_names = {k.replace('.fusion.fourier_unit.', '.mixer_gloal.FFC.').replace('.fusion.', '.mixer_gloal.'): v
                      for k, v in mini.items()}
    assert {map_official_key(k) for k in official_names} == set(mini)
    torch.save({'state_dict': {f'module.{k}': v for k, v in official_names.items()}}, tmp_path / 'mini.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r"does not fit FADformer.*dim=24, depths=\(2, 3, 4, 3, 2\)\).*--check-config"):
        load_official_checkpoint(tmp_path / 'mini.pth', 'fadformer')
    assert variant_name(infer_fadformer_arch(mini)) == 'FADformer_mini'
    mini_config = Config.fromfile(Path(__file__).parents[1] / 'configs' / 'fadformer_mini_rain200h.py').model.arch
    assert load_official_checkpoint(tmp_path / 'mini.pth', 'fadformer', arch=mini_config).keys() == mini.keys()
    assert variant_name(infer_fadformer_arch(FADformer(**TINY).state_dict())) is None


def test_another_models_file_is_refused(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save({'params': {'patch_embed.proj.weight': torch.zeros(48, 3, 3, 3),
                           'encoder_level1.0.attn.qkv.weight': torch.zeros(144, 48, 1, 1)}}, src)
    with pytest.raises(CheckpointConversionError, match='not a deng-ai-lab/FADformer state_dict'):
        load_official_checkpoint(src, 'fadformer')
    assert infer_fadformer_arch({'x': torch.zeros(1)}) is None


def test_plugin_registers_only_when_imported():
    assert_registers_only_when_imported('projects.fadformer.fadformer', [
        ('MODELS', 'FADformer', 'FADformer'), ('MODELS', 'FrequencyContrastiveLoss', 'FrequencyContrastiveLoss'),
        ('CHECKPOINT_CONVERTERS', 'fadformer', 'convert_fadformer')])
    assert convert_fadformer.arch_type == 'FADformer'
