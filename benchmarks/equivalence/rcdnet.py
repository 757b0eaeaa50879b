"""RCDNet against hongwang01/RCDNet ``RCDNet_code/{for_syn,for_spa}/src/model/rcdnet.py``
(``Mainnet``; plain state_dicts as its ``model_best.pt``).

The release's module reads ``./init_kernel.mat`` at import (it is imported from its own
folder here) and computes on pixel values in [0, 255]: the official forward is fed ``255 x``
and its last background estimate divided by 255, as the release's test feeds 8-bit values
and saves ``ListB[-1]``. Its stage count is the ``--stage`` option (S >= 3 for the release's
``conv[1]``), ``num_M`` must be 32 (its initial-kernel file holds 32 kernels), ``num_Z`` is free.
"""
import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

import torch

from ._release import import_file

RELEASE = ('hongwang01/RCDNet', 'c6e1539697590452ce0ceb6d6e3bb897e8f65f90')
CONVERTER = 'rcdnet'
SIZES = [(64, 64), (48, 80)]
VARIANTS = {
    # Every released model: S = 17, num_M = num_Z = 32 (the README's commands).
    'S17': dict(arch=dict(type='RCDNet'), official=('for_syn', 17, 32)),
    # The SPA-Data code's copy of the module (the same maths; its own file).
    'S17_for_spa': dict(arch=dict(type='RCDNet'), official=('for_spa', 17, 32)),
    # Other sizes the release's options allow: the fewest stages it runs, other num_Z.
    'S3_Z16': dict(arch=dict(type='RCDNet', stages=3, num_Z=16), official=('for_syn', 3, 16)),
}
RGB_RANGE = 255.0


@contextlib.contextmanager
def _working_dir(path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def build_official(release_dir, official):
    code, stages, num_Z = official
    src = Path(release_dir) / 'RCDNet_code' / code / 'src'
    if str(src) not in sys.path:  # its 'from model import common'
        sys.path.insert(0, str(src))
    with _working_dir(src / 'model'):  # rcdnet.py loads './init_kernel.mat' at import
        module = import_file(src, 'model/rcdnet.py', module_name=f'_official_rcdnet_{code}')
    return own_memory(module.Mainnet(argparse.Namespace(stage=stages, num_M=32, num_Z=num_Z)))


def own_memory(module):
    """The release builds ``eta11``, ``eta12``, ``conv``, ``w_z_f`` and the M-nets' ``tau`` with
    ``expand``: every entry of each is one memory location. PyTorch >= 1.x refuses to write
    into such a tensor (load_state_dict, in-place redraws, optimizer steps: "more than one
    element of the written-to tensor refers to a single memory location"); PyTorch 0.4.1, which
    the release requires, wrote into it, keeping all entries equal. Each becomes a tensor of its
    own with the same values: the forward reads the same numbers."""
    for param in module.parameters():
        if 0 in param.stride():
            param.data = param.data.clone()
    return module


def randomize(module, generator):
    """Every parameter and batch-norm buffer redrawn so that each matters and the output stays
    image-like on [0, 255] inputs (mean about 0.4, std about 0.3 in [0, 1] units; rain layers
    R^(s) of std 0.001 to 0.5): conv weights ~ N(0, 1/fan_in), batch-norm scales ~ U(0.25, 0.75)
    (so that 17 stages of residual blocks do not blow up), conv biases, batch-norm shifts and
    running means ~ U(-0.2, 0.2), running variances ~ U(0.5, 1.5), rain kernels ~ U(0, 20/81)
    per tap (used divided by 10), step sizes ~ U(0.5, 1.5) x their initial values, thresholds
    ~ U(0, 2)."""
    def uniform(shape, lo, hi):
        return lo + (hi - lo) * torch.rand(shape, generator=generator)

    with torch.no_grad():
        for name, t in [*module.named_parameters(), *module.named_buffers()]:
            if not t.is_floating_point():
                continue
            leaf = name.rsplit('.', 1)[-1]
            if name in ('weight0', 'conv'):
                t.copy_(uniform(t.shape, 0.0, 20.0 / 81))
            elif name in ('eta1', 'eta11'):
                t.copy_(uniform(t.shape, 0.5, 1.5))
            elif name in ('eta2', 'eta12'):
                t.copy_(uniform(t.shape, 2.5, 7.5))
            elif leaf == 'tau':
                t.copy_(uniform(t.shape, 0.0, 2.0))
            elif name == 'w_z_f':
                t.copy_(torch.randn(t.shape, generator=generator) / math.sqrt(27))
            elif leaf == 'running_var':
                t.copy_(uniform(t.shape, 0.5, 1.5))
            elif t.dim() == 4:  # a proximal network's conv
                t.copy_(torch.randn(t.shape, generator=generator) / math.sqrt(t[0].numel()))
            elif leaf == 'weight':  # a batch-norm scale
                t.copy_(uniform(t.shape, 0.25, 0.75))
            else:  # conv biases, batch-norm shifts and running means
                t.copy_(uniform(t.shape, -0.2, 0.2))


def official_forward(module, x):
    _, list_b, _ = module(x * RGB_RANGE)
    return list_b[-1] / RGB_RANGE
