"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import common, prenet, restormer  # noqa: F401
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .restormer import Restormer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive']
