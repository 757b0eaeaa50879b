"""Plain ``nn.Module`` archs, one file per family; importing this package
registers every arch in ``restorelab.registry.MODELS``."""
from . import common  # noqa: F401
from .aidnet import AIDNet
from .brn import BRN
from .ddn import DDN
from .dualgcn import DualGCN
from .idt import IDT
from .mprnet import MPRNet
from .mspfn import MSPFN
from .prenet import PRN, PReNet, PReNetRecursive, PRNRecursive
from .rcdnet import RCDNet
from .rescan import RESCAN
from .restormer import Restormer
from .spanet import SPANet
from .spdnet import SPDNet
from .uformer import Uformer

__all__ = ['Restormer', 'PReNet', 'PReNetRecursive', 'PRN', 'PRNRecursive', 'Uformer', 'IDT', 'BRN',
           'AIDNet', 'DualGCN', 'MPRNet', 'RCDNet', 'RESCAN', 'SPANet', 'SPDNet', 'DDN', 'MSPFN']
