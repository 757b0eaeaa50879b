"""Converters of official-release checkpoints, registered by model name in
``restorelab.registry.CHECKPOINT_CONVERTERS`` (beside the archs they fit), and the loading/checking logic
behind ``tools/convert_checkpoint.py``."""
from . import aidnet, brn, prenet, restormer, uformer  # noqa: F401  (registers the converters)
from . import ddn, dualgcn, idt, mprnet, mspfn, rcdnet, rescan, spanet, spdnet  # noqa: F401,E402
from .official import (ARCH_PREFIX, CheckpointConversionError, build_arch,
                       check_state_dict_fits, convert_official_checkpoint, default_arch_cfg,
                       get_converter, import_project_plugins, known_converters,
                       load_official_checkpoint, read_checkpoint_file, register_converter,
                       unwrap_state_dict)

__all__ = [
    'ARCH_PREFIX', 'CheckpointConversionError', 'build_arch', 'check_state_dict_fits',
    'convert_official_checkpoint', 'default_arch_cfg', 'get_converter', 'import_project_plugins',
    'known_converters', 'load_official_checkpoint', 'read_checkpoint_file', 'register_converter',
    'unwrap_state_dict',
]
