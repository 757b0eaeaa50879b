"""DRSformer plugin: importing this package registers the 'DRSformer' model in restorelab's MODELS and
the 'drsformer' checkpoint converter in CHECKPOINT_CONVERTERS (enable it in a config with
``custom_imports = dict(imports=['projects.drsformer.drsformer'], allow_failed_imports=False)``).

Modules: ``tksa`` (TKSA), ``msfn`` (MSFN), ``feedforward`` (Table 3's FFN variants), ``mefc`` (MEFC),
``drsformer`` (the network), each with the release's formulation (``fast=False``) and the fast one
beside it; ``fast_kernels`` (what the fast paths call); ``converter`` (official checkpoints).
"""
from .converter import convert_drsformer, map_official_key
from .drsformer import DRSformer, LayerNorm, SparseTransformerBlock
from .feedforward import DFN, FFN_TYPES, FN, build_ffn
from .mefc import EXPERT_NAMES, EXPERT_SUBSETS, MEFC
from .msfn import MSFN
from .tksa import RELEASE_TOPK_FRACTIONS, TKSA

__all__ = ['DRSformer', 'SparseTransformerBlock', 'LayerNorm', 'TKSA', 'RELEASE_TOPK_FRACTIONS', 'MSFN', 'DFN',
           'FN', 'FFN_TYPES', 'build_ffn', 'MEFC', 'EXPERT_NAMES', 'EXPERT_SUBSETS', 'convert_drsformer',
           'map_official_key']
