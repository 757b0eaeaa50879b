from .checkpoint import AtomicCheckpointHook
from .progressive import ProgressiveLearningHook
from .reliability import CheckpointFitHook, NonFiniteGuardHook, StopSignalHook
from .save_results import SaveResultsHook
from .visualization import ComparisonVisualizationHook
from .watchdog import WatchdogHook

__all__ = ['AtomicCheckpointHook', 'CheckpointFitHook', 'ComparisonVisualizationHook',
           'NonFiniteGuardHook', 'ProgressiveLearningHook', 'SaveResultsHook', 'StopSignalHook',
           'WatchdogHook']
