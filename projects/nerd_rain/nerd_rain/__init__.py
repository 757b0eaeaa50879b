"""NeRD-Rain plugin: importing this package registers the 'NeRDRain' model in restorelab's MODELS and
the 'nerd_rain' checkpoint converter in CHECKPOINT_CONVERTERS and the release's learning-rate schedule
'WarmupCosineLR' in PARAM_SCHEDULERS (enable it in a config with
``custom_imports = dict(imports=['projects.nerd_rain.nerd_rain'], allow_failed_imports=False)``).

Modules: ``inr`` (the intra-scale INR), ``bfpu`` (the bidirectional feedback propagation unit),
``network`` (the multi-scale network), ``converter`` (official checkpoints), ``schedule`` (the
release's per-epoch warm-up and cosine).
"""
from .bfpu import BFPU
from .converter import convert_nerd_rain, map_official_key
from .inr import IntraScaleINR, pixel_coordinates, positional_encoding
from .network import EncoderDecoder, NeRDRain, ScaleBranch
from .schedule import WarmupCosineLR

__all__ = ['NeRDRain', 'ScaleBranch', 'EncoderDecoder', 'IntraScaleINR', 'BFPU', 'pixel_coordinates',
           'positional_encoding', 'convert_nerd_rain', 'map_official_key', 'WarmupCosineLR']
