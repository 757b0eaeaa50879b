"""init_model / restore_image with a tiny model and saved checkpoints."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from restorelab.apis import CheckpointMismatchError, init_model, restore_image
from restorelab.registry import MODELS


@MODELS.register_module(name='TestOnlyApiConvArch', force=True)
class TinyConv(nn.Module):
    size_multiple = 4

    def __init__(self, channels=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, 3, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


@MODELS.register_module(name='TestOnlyApiInvertArch', force=True)
class Invert(nn.Module):
    size_multiple = 8

    def forward(self, x):
        assert x.shape[-1] % 8 == 0 and x.shape[-2] % 8 == 0
        return 1 - x


def _cfg(arch_type='TestOnlyApiConvArch', **test_cfg):
    return Config(dict(default_scope='restorelab',
                       model=dict(type='ImageRestorer', arch=dict(type=arch_type),
                                  pixel_loss=dict(type='L1Loss'), test_cfg=test_cfg)))


def _trained_weights():
    torch.manual_seed(1)
    return init_model(_cfg()).state_dict()


@pytest.mark.parametrize('wrap', ['mmengine', 'params', 'params_ema_module', 'flat_arch'])
def test_init_model_loads_every_checkpoint_layout(tmp_path, wrap):
    sd = _trained_weights()
    arch_sd = OrderedDict((k[len('arch.'):], v) for k, v in sd.items())
    if wrap == 'mmengine':  # a training checkpoint, with the message hub's HistoryBuffer
        obj = dict(meta=dict(iter=10), state_dict=sd,
                   message_hub=dict(log_scalars={'train/loss': HistoryBuffer([0.5, 0.4], [1, 1])}))
    elif wrap == 'params':
        obj = dict(params=arch_sd)
    elif wrap == 'params_ema_module':
        obj = dict(params_ema=OrderedDict(('module.' + k, v) for k, v in arch_sd.items()))
    else:
        obj = arch_sd
    path = tmp_path / 'ckpt.pth'
    torch.save(obj, path)
    model = init_model(_cfg(), str(path))
    assert not model.training
    loaded = model.state_dict()
    assert set(loaded) == set(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)
    fresh = init_model(_cfg())
    assert not all(torch.equal(fresh.state_dict()[k], sd[k]) for k in sd)


def test_init_model_from_config_file(tmp_path):
    sd = _trained_weights()
    torch.save(dict(state_dict=sd), tmp_path / 'w.pth')
    cfg_file = tmp_path / 'tiny.py'
    cfg_file.write_text(
        "default_scope = 'restorelab'\n"
        "model = dict(type='ImageRestorer', arch=dict(type='TestOnlyApiConvArch'),\n"
        "             pixel_loss=dict(type='L1Loss'), test_cfg=dict(tile=8, tile_overlap=4))\n")
    model = init_model(str(cfg_file), tmp_path / 'w.pth')
    assert model.test_cfg['tile'] == 8 and model.cfg.model.arch.type == 'TestOnlyApiConvArch'
    assert torch.equal(model.state_dict()['arch.body.0.weight'], sd['arch.body.0.weight'])


def test_mismatched_checkpoint_lists_keys(tmp_path):
    sd = _trained_weights()
    sd.pop('arch.body.2.bias')
    sd['arch.extra.weight'] = torch.zeros(1)
    sd['arch.body.0.weight'] = torch.zeros(8, 3, 3, 3)
    torch.save(dict(state_dict=sd), tmp_path / 'bad.pth')
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(_cfg(), tmp_path / 'bad.pth')
    msg = str(err.value)
    assert '1 missing keys (first: arch.body.2.bias)' in msg
    assert '1 unexpected keys (first: arch.extra.weight)' in msg
    assert 'arch.body.0.weight: checkpoint (8, 3, 3, 3) vs model (4, 3, 3, 3)' in msg
    assert 'tools/convert_checkpoint.py' in msg


def test_checkpoint_needing_arbitrary_unpickling_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ('payload ran',))

    torch.save(dict(state_dict=_trained_weights(), extra=Payload()), tmp_path / 'evil.pth')
    with pytest.raises(Exception, match='weights_only=True'):
        init_model(_cfg(), tmp_path / 'evil.pth')


@pytest.mark.parametrize('dtype,max_value', [(np.uint8, 255), (np.uint16, 65535)])
def test_restore_image_keeps_dtype_and_exact_values(dtype, max_value):
    rng = np.random.default_rng(0)
    img = rng.integers(0, max_value + 1, size=(13, 21, 3)).astype(dtype)
    model = init_model(_cfg('TestOnlyApiInvertArch'))
    out = restore_image(model, img)
    assert out.dtype == dtype and out.shape == img.shape
    assert np.array_equal(out, max_value - img)  # padded to 16x24, cropped back, rounded


def test_restore_image_uses_and_overrides_test_cfg():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(20, 28, 3)).astype(np.uint8)
    torch.manual_seed(0)
    model = init_model(_cfg())
    plain = restore_image(model, img)
    with torch.no_grad():
        x = torch.from_numpy(img.transpose(2, 0, 1).copy()).float()[None] / 255
        ref = (model.arch(x).clamp(0, 1) * 255).round()[0].permute(1, 2, 0).numpy().astype(np.uint8)
    assert np.array_equal(plain, ref)
    # Tiles of 12 with overlap 8 (margin 2 >= the arch's receptive radius 2): same image.
    tiled = restore_image(model, img, test_cfg=dict(tile=12, tile_overlap=8))
    assert np.abs(tiled.astype(int) - plain.astype(int)).max() <= 1
    assert model.test_cfg['tile'] is None  # the override was for that call only
    with pytest.raises(ValueError, match='tile=10 is not a multiple'):
        restore_image(model, img, test_cfg=dict(tile=10))


def test_restore_image_rejects_bad_arrays():
    model = init_model(_cfg())
    for bad in (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 4), np.uint8)):
        with pytest.raises(ValueError, match=r'expects an \(H, W, 3\) RGB uint8 or uint16 array'):
            restore_image(model, bad)


PLUGIN_SCRIPT = '''
import sys
from restorelab.apis import init_model
model = init_model(sys.argv[1])
print(type(model.arch).__name__)
'''


def test_init_model_loads_a_plugin_from_a_script_in_any_folder(tmp_path, repo_root):
    """The config's custom_imports (projects.drsformer...) is found from the config's
    repository, not from the folder the script runs in."""
    import subprocess
    import sys
    script = tmp_path / 'elsewhere' / 'run.py'
    script.parent.mkdir()
    script.write_text(PLUGIN_SCRIPT)
    config = repo_root / 'configs' / 'quickstart' / 'drsformer_demo.py'
    out = subprocess.run([sys.executable, str(script), str(config)], cwd=script.parent,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == 'DRSformer'


def test_a_plugin_that_cannot_be_found_is_a_config_error(tmp_path):
    from restorelab.utils.errors import ConfigError
    config = tmp_path / 'cfg.py'
    config.write_text("custom_imports = dict(imports=['no_such_plugin_pkg.model'], "
                      "allow_failed_imports=False)\nmodel = dict(type='ImageRestorer')\n")
    with pytest.raises(ConfigError) as err:
        init_model(str(config))
    assert str(config) in str(err.value) and 'no_such_plugin_pkg' in str(err.value)
    assert 'PYTHONPATH' in str(err.value)
