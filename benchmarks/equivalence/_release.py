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
