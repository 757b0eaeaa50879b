"""tools/convert_checkpoint.py and restorelab.models.converters: wrappers, key checks,
refusal of unsafe pickles, and the round trip into ImageRestorer."""
import importlib.util
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from restorelab.registry import MODELS
from restorelab.models.converters import (CheckpointConversionError, import_project_plugins,
                                         known_converters, load_official_checkpoint)

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'restormer' / 'restormer_tiny_rain200h.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_checkpoint_tool',
                                                  REPO / 'tools' / 'convert_checkpoint.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture(scope='module')
def tiny_arch_cfg():
    return Config.fromfile(TINY_CONFIG).model.arch.to_dict()


def random_state(model, seed):
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((k, torch.randn(v.shape, generator=gen)) for k, v in model.state_dict().items())


class CreatesFileWhenUnpickled:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_round_trip_into_image_restorer(tool, tmp_path, tiny_arch_cfg):
    official = MODELS.build(dict(tiny_arch_cfg)).eval()
    params, params_ema = random_state(official, 0), random_state(official, 1)
    official.load_state_dict(params)
    # A DataParallel-saved BasicSR checkpoint with both weight sets.
    src = tmp_path / 'official.pth'
    torch.save({'params': {f'module.{k}': v for k, v in params.items()},
                'params_ema': {f'module.{k}': v for k, v in params_ema.items()}}, src)
    dst = tmp_path / 'converted.pth'
    assert tool.main(['restormer', str(src), str(dst), '--check-config', str(TINY_CONFIG)]) == 0

    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    assert all(k.startswith('arch.') for k in saved['state_dict'])
    assert saved['meta']['converter'] == 'restormer'
    assert saved['meta']['source'] == str(src.resolve())
    assert saved['meta']['source_key'] == 'params'
    assert saved['meta']['num_params'] == 208_217

    restorer = MODELS.build(Config.fromfile(TINY_CONFIG).model.to_dict()).eval()
    load_checkpoint(restorer, str(dst), map_location='cpu', strict=True)
    for key, value in params.items():  # 'params' wins over 'params_ema' by default
        assert torch.equal(restorer.arch.state_dict()[key], value), key
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        torch.testing.assert_close(restorer(x, mode='tensor'), official(x), rtol=0, atol=0)


def test_key_option_selects_ema_weights(tool, tmp_path, tiny_arch_cfg):
    model = MODELS.build(dict(tiny_arch_cfg))
    params, params_ema = random_state(model, 0), random_state(model, 1)
    src = tmp_path / 'official.pth'
    torch.save({'params': params, 'params_ema': params_ema}, src)
    got = load_official_checkpoint(src, 'restormer', arch=tiny_arch_cfg, key='params_ema')
    assert all(torch.equal(got[k], params_ema[k]) for k in params_ema)
    with pytest.raises(CheckpointConversionError, match="key 'ema' not found; top-level keys: "
                                                        r"\['params', 'params_ema'\]"):
        load_official_checkpoint(src, 'restormer', arch=tiny_arch_cfg, key='ema')


def test_flat_prenet_state_dict_fits_default_arch(tmp_path):
    state = random_state(MODELS.build(dict(type='PReNet')), 0)
    src = tmp_path / 'net_latest.pth'
    torch.save(state, src)
    got = load_official_checkpoint(src, 'prenet')
    assert list(got) == list(state) and all(torch.equal(got[k], state[k]) for k in state)
    # The recursive variant's weights do not fit the default PReNet.
    torch.save(random_state(MODELS.build(dict(type='PReNet_r')), 0), src)
    with pytest.raises(CheckpointConversionError,
                       match=r'does not fit PReNet: 16 missing keys \(first: res_conv2.0.weight'):
        load_official_checkpoint(src, 'prenet')
    assert len(load_official_checkpoint(src, 'prenet_r')) == 16


def release_like_brn_file(path, arch_cfg, seed):
    """A generated file laid out like RecDerain's / AIDNet's net_latest.pth: DataParallel
    prefixes and the two rain-branch blocks the release builds but never calls."""
    state = random_state(MODELS.build(dict(arch_cfg)), seed)
    gen = torch.Generator().manual_seed(seed + 100)
    unused = OrderedDict((f'res_conv{i}_r.{j}.{p}', torch.randn(shape, generator=gen))
                         for i in (4, 5) for j in (0, 2)
                         for p, shape in (('weight', (32, 32, 3, 3)), ('bias', (32,))))
    torch.save(OrderedDict((f'module.{k}', v) for k, v in {**state, **unused}.items()), path)
    return state


@pytest.mark.parametrize('model_name, config, params', [
    ('brn', 'brn/brn_rain100h.py', 375_526),
    ('aidnet', 'aidnet/aidnet_rain100h.py', 375_791),  # 375,788 parameters + 3 BN buffers
    ('aidnet', 'aidnet/aidnet_rain100l.py', 376_598),
])
def test_brn_family_round_trip_into_image_restorer(tool, tmp_path, model_name, config, params):
    cfg = Config.fromfile(REPO / 'configs' / config)
    src, dst = tmp_path / 'net_latest.pth', tmp_path / 'converted.pth'
    state = release_like_brn_file(src, cfg.model.arch.to_dict(), 0)
    assert tool.main([model_name, str(src), str(dst), '--check-config',
                      str(REPO / 'configs' / config)]) == 0
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['num_params'] == params  # values saved
    assert list(saved['state_dict']) == [f'arch.{k}' for k in state]  # unused blocks dropped
    restorer = MODELS.build(cfg.model.to_dict()).eval()
    load_checkpoint(restorer, str(dst), map_location='cpu', strict=True)
    reference = MODELS.build(cfg.model.arch.to_dict()).eval()
    reference.load_state_dict(state)
    x = torch.rand(1, 3, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(restorer(x, mode='tensor'), reference(x), rtol=0, atol=0)


def test_brn_family_default_archs_and_wrong_files(tool, tmp_path, capsys):
    src, dst = tmp_path / 'net_latest.pth', tmp_path / 'out.pth'
    # The default BRN and AIDNet fit the released files without --check-config ...
    release_like_brn_file(src, dict(type='BRN'), 0)
    assert tool.main(['brn', str(src), str(dst)]) == 0
    release_like_brn_file(src, dict(type='AIDNet'), 0)
    assert tool.main(['aidnet', str(src), str(dst)]) == 0
    dst.unlink()
    # ... but the Rain100L AIDNet (SE attention) needs its config, and says so.
    release_like_brn_file(src, dict(type='AIDNet', attention='se', reduction=2), 0)
    assert tool.main(['aidnet', str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert 'does not fit AIDNet: 10 missing keys (first: cbam_module.ChannelGate.mlp.1.weight' in err
    assert '4 unexpected keys (first: seblock.fc.0.weight' in err and '--check-config CONFIG' in err
    # A PReNet file is not a BRN file.
    torch.save(random_state(MODELS.build(dict(type='PReNet')), 0), src)
    assert tool.main(['brn', str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert 'does not fit BRN: 24 missing keys (first: conv0_r.0.weight' in err
    assert 'conv0.0.weight: checkpoint (32, 6, 3, 3) vs model (32, 9, 3, 3)' in err
    assert not dst.exists()


def test_uformer_release_wrapper_state_dict_and_module_prefix(tmp_path):
    # The Uformer release saves {'epoch', 'state_dict', 'optimizer'} from a DataParallel model.
    arch = dict(type='Uformer', img_size=32, embed_dim=4, depths=[1] * 9,
                num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1], win_size=2)
    state = random_state(MODELS.build(dict(arch)), 0)
    src = tmp_path / 'model_best.pth'
    torch.save({'epoch': 250, 'state_dict': {f'module.{k}': v for k, v in state.items()},
                'optimizer': {'param_groups': []}}, src)
    got = load_official_checkpoint(src, 'uformer', arch=arch)
    assert list(got) == list(state) and all(torch.equal(got[k], state[k]) for k in state)


def test_help_names_the_checkpoint_forms(tool, capsys):
    with pytest.raises(SystemExit) as info:
        tool.parse_args(['--help'])
    assert info.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())
    assert 'a torch file (.pth), or a TensorFlow checkpoint read without TensorFlow' in text
    assert 'its prefix, its .index file, the folder holding it, or a .zip archive holding it' in text


def test_unknown_model_lists_known_names(tool, tmp_path, capsys):
    assert tool.main(['restormr', str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth')]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'restormr' for checkpoint conversion; did you mean 'restormer'" in err
    for name in ('aidnet', 'brn', 'prenet', 'prenet_r', 'prn', 'prn_r', 'restormer', 'uformer'):
        assert name in err
    if (REPO / 'projects' / 'drsformer' / 'drsformer' / '__init__.py').is_file():
        assert 'drsformer' in err  # plugin converters are found without editing restorelab


def test_missing_unexpected_and_mismatched_keys_are_named(tool, tmp_path, capsys, tiny_arch_cfg):
    state = random_state(MODELS.build(dict(tiny_arch_cfg)), 0)
    state['output.wieght'] = state.pop('output.weight')
    src = tmp_path / 'renamed.pth'
    torch.save({'params': state}, src)
    dst = tmp_path / 'out.pth'
    assert tool.main(['restormer', str(src), str(dst), '--check-config', str(TINY_CONFIG)]) == 2
    err = capsys.readouterr().err
    assert '1 missing keys (first: output.weight)' in err
    assert '1 unexpected keys (first: output.wieght)' in err
    assert not dst.exists()
    # Without --check-config the default (full-size) Restormer is the reference.
    assert tool.main(['restormer', str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert 'missing keys (first: encoder_level1.1.norm1.body.weight' in err
    assert 'patch_embed.proj.weight: checkpoint (8, 3, 3, 3) vs model (48, 3, 3, 3)' in err
    assert '--check-config CONFIG' in err


def test_malicious_pickle_is_refused_without_running_it(tool, tmp_path, capsys):
    marker = tmp_path / 'payload_ran'
    src = tmp_path / 'evil.pth'
    torch.save({'params': {'w': torch.zeros(1)}, 'extra': CreatesFileWhenUnpickled(marker)}, src)
    dst = tmp_path / 'out.pth'
    assert tool.main(['restormer', str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert f'refusing to load {src}' in err and 'arbitrary Python objects' in err
    assert 'Unsupported global: GLOBAL io.open' in err  # names what the pickle would import
    assert 'weights_only=False' in err  # says how to re-save a trusted file
    assert not marker.exists() and not dst.exists()
    # The payload is real: an unrestricted load runs it.
    torch.load(src, weights_only=False)
    assert marker.exists()


def test_unreadable_and_unwrappable_files(tmp_path):
    with pytest.raises(CheckpointConversionError, match='checkpoint file not found: .*none.pth'):
        load_official_checkpoint(tmp_path / 'none.pth', 'prenet')
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(CheckpointConversionError, match='cannot read .*notes.pth as a torch checkpoint'):
        load_official_checkpoint(text, 'prenet')
    odd = tmp_path / 'odd.pth'
    torch.save({'epoch': 3, 'weights': {'a': torch.zeros(1)}}, odd)
    with pytest.raises(CheckpointConversionError,
                       match=r"no weights found.*top-level keys: \['epoch', 'weights'\].*--key"):
        load_official_checkpoint(odd, 'prenet')


def test_plugin_converters_are_imported_and_failures_reported(tmp_path):
    good = tmp_path / 'projects' / 'convplug' / 'convplug'
    good.mkdir(parents=True)
    (tmp_path / 'projects' / '__init__.py').write_text('')
    (good / '__init__.py').write_text(
        'from restorelab.registry import CHECKPOINT_CONVERTERS\n'
        "@CHECKPOINT_CONVERTERS.register_module(name='convplug')\n"
        'def convert(state_dict):\n    return state_dict\n')
    bad = tmp_path / 'projects' / 'brokenplug' / 'brokenplug'
    bad.mkdir(parents=True)
    (bad / '__init__.py').write_text('import a_module_that_does_not_exist\n')
    # A fresh process: this repository's own `projects` package is already imported here.
    code = ('import sys\n'
            'from restorelab.models.converters import import_project_plugins, known_converters\n'
            'failures = import_project_plugins(sys.argv[1])\n'
            'print(known_converters())\n'
            'print(failures)\n')
    res = subprocess.run([sys.executable, '-c', code, str(tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    names, failures = res.stdout.strip().splitlines()
    assert 'convplug' in names and 'restormer' in names
    assert "'projects.brokenplug.brokenplug'" in failures
    assert 'a_module_that_does_not_exist' in failures
    assert 'convplug.convplug' not in failures
