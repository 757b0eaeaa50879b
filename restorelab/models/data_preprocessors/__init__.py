"""Data preprocessors; importing this package registers them."""
from .restoration_data_preprocessor import RestorationDataPreprocessor, stack_gt

__all__ = ['RestorationDataPreprocessor', 'stack_gt']
