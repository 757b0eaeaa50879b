from .progressive import ProgressiveLearningHook
from .save_results import SaveResultsHook
from .visualization import ComparisonVisualizationHook

__all__ = ['ComparisonVisualizationHook', 'ProgressiveLearningHook', 'SaveResultsHook']
