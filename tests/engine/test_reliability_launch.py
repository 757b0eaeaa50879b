"""Launch helpers behind the reliability guarantees: safety hooks in the
config, --load-from, the distributed timeout, error texts and config typos."""
import pytest
from mmengine.config import Config

from restorelab.engine import launch
from restorelab.engine.config_errors import ConfigError, explain_config_error, valid_keys
from restorelab.engine.optim_wrapper import CPUAmpOptimWrapper
from restorelab.utils.image_io import ImageReadError


def test_apply_reliability_adds_configurable_hooks():
    cfg = launch.apply_reliability(Config(dict(default_hooks=dict(
        nonfinite=dict(max_consecutive=3)))), training=True)
    hooks = cfg.default_hooks
    assert hooks.nonfinite == dict(type='NonFiniteGuardHook', max_consecutive=3)
    assert hooks.stop_signal == dict(type='StopSignalHook')
    assert hooks.checkpoint_fit == dict(type='CheckpointFitHook')
    # None switches one off (and is removed: mmengine only accepts None for its own hooks).
    cfg = launch.apply_reliability(Config(dict(default_hooks=dict(stop_signal=None))))
    assert 'stop_signal' not in cfg.default_hooks and 'nonfinite' in cfg.default_hooks
    cfg = launch.apply_reliability(Config(dict()), training=False)
    assert set(cfg.default_hooks) == {'checkpoint_fit', 'watchdog'}
    assert cfg.default_hooks.watchdog == dict(type='WatchdogHook')  # timeout derived


def test_watchdog_timeout_from_the_config_is_checked():
    cfg = launch.apply_reliability(Config(dict(watchdog_timeout=30)), training=True)
    assert cfg.default_hooks.watchdog == dict(type='WatchdogHook', timeout=30.0)
    with pytest.raises(launch.LaunchError, match="watchdog_timeout must be a number of seconds"):
        launch.apply_reliability(Config(dict(watchdog_timeout='10 min')))


def test_load_from_option(tmp_path):
    ckpt = tmp_path / 'w.pth'
    ckpt.write_bytes(b'x')
    cfg = launch.set_load_from(Config(dict(resume=True)), str(ckpt))
    assert cfg.load_from == str(ckpt) and cfg.resume is False
    with pytest.raises(launch.LaunchError, match='exclude each other'):
        launch.set_load_from(Config(dict()), str(ckpt), resume='auto')
    with pytest.raises(launch.LaunchError, match='nope.pth'):
        launch.set_load_from(Config(dict()), str(tmp_path / 'nope.pth'))


def test_dist_timeout_default_and_validation():
    assert launch.dist_timeout(Config(dict())) == launch.DEFAULT_DIST_TIMEOUT == 600
    assert launch.dist_timeout(Config(dict(env_cfg=dict(dist_cfg=dict(timeout=5))))) == 5
    with pytest.raises(launch.LaunchError, match='positive number of seconds'):
        launch.dist_timeout(Config(dict(env_cfg=dict(dist_cfg=dict(timeout='5')))))
    # Not distributed: no error is mistaken for a lost peer.
    assert launch.explain_distributed_failure(RuntimeError('Connection closed by peer'),
                                              Config(dict())) is None


def test_error_text_strips_worker_traceback_and_qualified_type():
    err = ImageReadError('Caught ImageReadError in DataLoader worker process 0.\n'
                         'Original Traceback (most recent call last):\n  File "x.py", line 1\n'
                         "restorelab.utils.image_io.ImageReadError: cannot decode 'a.png'")
    assert launch.error_text(err) == "cannot decode 'a.png'"
    assert launch.error_text(ImageReadError('plain')) == 'plain'


def test_valid_keys_follow_kwargs_up_the_class_hierarchy():
    keys = valid_keys(CPUAmpOptimWrapper)
    assert keys[0] == 'dtype' and 'optimizer' in keys and 'clip_grad' in keys
    assert 'kwargs' not in keys


def test_config_typo_explanations():
    cfg = Config(dict(optim_wrapper=dict(type='CPUAmpOptimWrapper', optimizer=dict(type='AdamW'),
                                         clip_gard=dict(max_norm=1))))
    err = TypeError("OptimWrapper.__init__() got an unexpected keyword argument 'clip_gard'")
    msg = str(explain_config_error(err, cfg))
    assert "`optim_wrapper` (type='CPUAmpOptimWrapper') has the unknown key 'clip_gard'" in msg
    assert "did you mean 'clip_grad'?" in msg
    err = TypeError("PairedRandomCrop.__init__() missing 1 required positional argument: "
                    "'patch_size'")
    cfg = Config(dict(pipeline=[dict(type='PairedRandomCrop')]))
    assert "`pipeline[0]` (type='PairedRandomCrop') lacks the required key(s) 'patch_size'" in \
        str(explain_config_error(err, cfg))
    err = KeyError('L1Los is not in the restorelab::model registry. Please check whether ...')
    cfg = Config(dict(model=dict(pixel_loss=dict(type='L1Los'))))
    out = explain_config_error(err, cfg)
    assert isinstance(out, ConfigError)
    assert "`model.pixel_loss.type` names the type 'L1Los'" in str(out)
    assert "'L1Loss'" in str(out)
    # Anything else is left alone (the tool re-raises it).
    assert explain_config_error(TypeError('unsupported operand'), cfg) is None
    assert explain_config_error(KeyError('img'), cfg) is None
