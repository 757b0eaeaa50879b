"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import aidnet, brn, common, idt, prenet, rcdnet, restormer, uformer  # noqa: F401
from .aidnet import AIDNet
from .brn import BRN
from .idt import IDT
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .rcdnet import RCDNet
from .restormer import Restormer
from .uformer import Uformer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive', 'Uformer', 'IDT', 'BRN',
           'AIDNet', 'RCDNet']
