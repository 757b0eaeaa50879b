"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import aidnet, brn, common, prenet, restormer, uformer  # noqa: F401
from .aidnet import AIDNet
from .brn import BRN
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .restormer import Restormer
from .uformer import Uformer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive', 'Uformer', 'BRN',
           'AIDNet']
from .idt import IDT  # noqa: E402,F401
