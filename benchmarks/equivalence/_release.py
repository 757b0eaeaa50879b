"""What the adapters share: importing a module of a release checkout (outside the repository)
whose imports this environment lacks (torchvision, cv2 helpers) without installing them."""
import importlib.util
import sys
import types
from pathlib import Path


def stub_modules(*names):
    """Empty stand-ins for modules a release imports but never uses on the path measured."""
    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except ImportError:
                sys.modules[name] = types.ModuleType(name)


def import_file(release_dir, relative_path, module_name=None):
    """Import ``release_dir/relative_path`` as a module (its folder first on ``sys.path`` so its
    own relative imports resolve)."""
    path = Path(release_dir) / relative_path
    if not path.is_file():
        raise SystemExit(f'{path} not found: is --release the official checkout?')
    sys.path.insert(0, str(path.parent))
    name = module_name or f'_official_{path.stem}'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def stub_timm_layers():
    """``timm.models.layers`` as the Uformer and IDT releases use it (``DropPath``,
    ``to_2tuple``, ``trunc_normal_``), for an environment without timm (IDT's checkout
    vendors a timm that needs torchvision). ``DropPath`` is only built when its rate is
    positive and is the identity in eval mode, which is all that runs here (a training
    module would fail loudly); ``trunc_normal_`` only initialises (the weights are
    redrawn before use)."""
    import torch.nn as nn

    class DropPath(nn.Module):
        def __init__(self, drop_prob=0.):
            super().__init__()
            self.drop_prob = drop_prob

        def forward(self, x):
            if self.training and self.drop_prob > 0:
                raise RuntimeError('the stand-in DropPath runs in eval mode only')
            return x

    def to_2tuple(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    layers = types.ModuleType('timm.models.layers')
    layers.DropPath, layers.to_2tuple, layers.trunc_normal_ = DropPath, to_2tuple, nn.init.trunc_normal_
    models = types.ModuleType('timm.models')
    models.layers = layers
    timm = types.ModuleType('timm')
    timm.models = models
    sys.modules.update({'timm': timm, 'timm.models': models, 'timm.models.layers': layers})
