"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import aidnet, brn, common, idt, prenet, restormer, uformer  # noqa: F401
from . import ddn, mspfn  # noqa: F401
from .aidnet import AIDNet
from .brn import BRN
from .ddn import DDN
from .idt import IDT
from .mspfn import MSPFN
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .restormer import Restormer
from .uformer import Uformer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive', 'Uformer', 'IDT', 'BRN',
           'AIDNet', 'DDN', 'MSPFN']
