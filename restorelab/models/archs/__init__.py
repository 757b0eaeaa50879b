"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import common, prenet, restormer, uformer  # noqa: F401
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .restormer import Restormer
from .uformer import Uformer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive', 'Uformer']
from .idt import IDT  # noqa: E402,F401
