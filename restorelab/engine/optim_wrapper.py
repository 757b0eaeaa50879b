"""Mixed precision on the CPU.

mmengine's AmpOptimWrapper refuses to run without a GPU. On the CPU, torch's
autocast computes in bfloat16, which has float32's exponent range and so needs
no loss scaling: this wrapper only adds the autocast context.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from restorelab.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """OptimWrapper running forward passes under bfloat16 CPU autocast."""

    def __init__(self, dtype='bfloat16', **kwargs):
        if dtype != 'bfloat16':
            raise ValueError(f'CPUAmpOptimWrapper supports dtype="bfloat16" only, got {dtype!r}')
        super().__init__(**kwargs)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield


def amp_optim_wrapper_type():
    """The optim wrapper ``--amp`` selects on this machine."""
    return 'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAmpOptimWrapper'
