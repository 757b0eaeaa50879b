"""DRSformer plugin: importing this package registers the 'DRSformer' model in restorelab's MODELS and
the 'drsformer' checkpoint converter in CHECKPOINT_CONVERTERS (enable it in a config with
``custom_imports = dict(imports=['projects.drsformer.drsformer'], allow_failed_imports=False)``)."""
from .converter import convert_drsformer, map_official_key
from .drsformer import DRSformer, SparseTransformerBlock
from .mefc import MEFC
from .msfn import MSFN
from .tksa import TKSA

__all__ = ['DRSformer', 'SparseTransformerBlock', 'TKSA', 'MSFN', 'MEFC', 'convert_drsformer', 'map_official_key']
