"""restorelab: registry-driven image restoration on mmengine.

Importing the package is cheap: components are imported lazily through the
registries' ``locations`` when a config builds them.
"""
from .version import __version__

__all__ = ['__version__']
