"""restorelab's registries: children of mmengine's root registries.

Every registry has ``scope='restorelab'`` and ``locations`` so that building a
component from a config imports the module that defines it (lazily: importing
``restorelab`` imports no model code). Plugins under ``projects/`` register into
these registries (``@MODELS.register_module()``) and are loaded through a
config's ``custom_imports``; they never create registries of their own.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'restorelab'

# Archs, restorers, data preprocessors and losses are all nn.Modules.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['restorelab.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE, locations=['restorelab.engine'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE, locations=['restorelab.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE, locations=['restorelab.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE, locations=['restorelab.datasets.transforms'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=['restorelab.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE, locations=['restorelab.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['restorelab.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE, locations=['restorelab.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE, locations=['restorelab.engine'])
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE, locations=['restorelab.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE, locations=['restorelab.engine'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE, locations=['restorelab.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE, locations=['restorelab.engine'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, scope=SCOPE, locations=['restorelab.models'])
# Children that restorelab registers nothing into: with them, mmengine finds the registry of
# scope 'restorelab' when it builds a log processor, an optimizer wrapper's constructor or a
# collate function, instead of warning that it "failed to search registry with scope" and
# falling back to its own (the same components, one warning per run and process).
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS, scope=SCOPE)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope=SCOPE)

# Converters from official-release checkpoints to restorelab's key layout:
# functions ``convert(state_dict) -> state_dict`` registered by model name.
# Not an mmengine root registry: it has no parent.
CHECKPOINT_CONVERTERS = Registry(
    'checkpoint converter', scope=SCOPE, locations=['restorelab.models.converters'])

__all__ = [
    'SCOPE', 'MODELS', 'MODEL_WRAPPERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS',
    'EVALUATOR', 'HOOKS', 'LOOPS', 'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
    'VISUALIZERS', 'VISBACKENDS', 'WEIGHT_INITIALIZERS', 'LOG_PROCESSORS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'FUNCTIONS', 'CHECKPOINT_CONVERTERS',
]
