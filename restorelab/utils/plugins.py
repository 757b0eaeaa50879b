"""Loading a config's plugins (``custom_imports``) from wherever the calling script lives.

A config such as ``configs/drsformer_rain200h.py`` names its plugin as a module of the
repository, ``custom_imports = dict(imports=['projects.drsformer.drsformer'])``. mmengine
imports it from ``sys.path``, which holds the repository only when the script runs from its
root. :func:`import_custom_modules` first looks for the module's top-level package
(``projects``) in the folders above the config file, then in the checkout restorelab itself
comes from, and puts the first folder that holds it on ``sys.path``.
"""
import importlib
import importlib.util
import os
import os.path as osp
import sys
import warnings

from .errors import ConfigError

RESTORELAB_CHECKOUT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _roots(config_path):
    """The folders above ``config_path``, nearest first, then restorelab's checkout."""
    roots = []
    if config_path is not None:
        folder = osp.dirname(osp.abspath(os.fspath(config_path)))
        while True:
            roots.append(folder)
            parent = osp.dirname(folder)
            if parent == folder:
                break
            folder = parent
    if RESTORELAB_CHECKOUT not in roots:
        roots.append(RESTORELAB_CHECKOUT)
    return roots


def _holds(root, top):
    # A package, a module, or a folder Python imports as a namespace package (tests/).
    return osp.isdir(osp.join(root, top)) or osp.isfile(osp.join(root, top + '.py'))


def import_custom_modules(custom_imports, config_path=None):
    """Import the modules of a config's ``custom_imports`` (``dict(imports=[...],
    allow_failed_imports=False)``), finding their repository from ``config_path``.

    Raises:
        ConfigError: a module cannot be found (naming the config and the folders searched)
            or fails to import, unless ``allow_failed_imports`` is true (then it warns).
    """
    names = custom_imports.get('imports', [])
    names = [names] if isinstance(names, str) else list(names)
    allow_failed = bool(custom_imports.get('allow_failed_imports', False))
    where = f'{os.fspath(config_path)!r}' if config_path is not None else 'the config'
    for name in names:
        top = name.split('.')[0]
        searched = []
        if importlib.util.find_spec(top) is None:
            searched = _roots(config_path)
            root = next((r for r in searched if _holds(r, top)), None)
            if root is not None:
                sys.path.append(root)
        try:
            importlib.import_module(name)
        except ImportError as err:
            message = (f'{where} loads the plugin module {name!r} (custom_imports), which '
                       f'cannot be imported: {err}.')
            if searched:
                message += (f' No folder holding {top!r} was found above the config or in '
                            f'restorelab\'s checkout ({", ".join(searched[:3])}'
                            f'{", ..." if len(searched) > 3 else ""}); keep the config inside '
                            f'the repository that holds {top}/, or add that repository to '
                            'PYTHONPATH.')
            if allow_failed:
                warnings.warn(message)
                continue
            raise ConfigError(message) from None
