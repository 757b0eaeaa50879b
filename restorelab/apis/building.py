"""A restorer from a config, without weights: the step that :func:`~restorelab.apis.init_model`
and the zoo's output check (:mod:`restorelab.apis.zoo`) share, below both of them."""
import os

from mmengine.config import Config
from mmengine.registry import init_default_scope

from restorelab.engine.setup import setup_engine
from restorelab.registry import MODELS
from restorelab.utils.errors import UserInputError
from restorelab.utils.plugins import import_custom_modules


def load_config(config):
    """An mmengine ``Config`` from a path, a Config or a dict; the config's plugins
    (``custom_imports``, found from the config's folder) are imported."""
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise UserInputError(f'config file {path!r} does not exist')
        cfg = Config.fromfile(path, import_custom_modules=False)
    elif isinstance(config, Config):
        cfg = config
    elif isinstance(config, dict):
        cfg = Config(config)
    else:
        raise TypeError(f'config must be a path, an mmengine Config or a dict, got {type(config).__name__}')
    if cfg.get('custom_imports'):
        import_custom_modules(cfg['custom_imports'], cfg.filename or None)
    return cfg


def build_restorer(config):
    """``config``'s model (a path, Config or dict with a ``model`` entry), built in restorelab's
    default scope with its initial weights; the config is kept as ``model.cfg``."""
    setup_engine()
    cfg = load_config(config)
    if 'model' not in cfg:
        raise UserInputError('the config has no `model` entry; expected '
                             "model=dict(type='ImageRestorer', arch=dict(type=...), ...)")
    init_default_scope(cfg.get('default_scope', 'restorelab'))
    model = MODELS.build(cfg.model)
    model.cfg = cfg
    return model
