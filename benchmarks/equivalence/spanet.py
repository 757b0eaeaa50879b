"""SPANet against stevewongv/SPANet ``SPANet.py``, with two checks because the release's IRNN
cannot run here (a cupy CUDA kernel, ``IRNN_Forward_cuda.cu``, launched by ``irnn.py``):

- 'SPANet': the release's module (its convolutions, bottlenecks, SAM, attention layer and the
  way they are wired, loaded from the checkout) with restorelab's IRNN
  (``restorelab.models.archs.spanet.directional_recurrence``) put in place of ``irnn.irnn``,
  against restorelab's ``SPANet`` on the converted checkpoint. This checks everything but the
  IRNN.
- 'IRNN': restorelab's ``SpatialIRNN`` against :func:`kernel_irnn`, the release's forward
  kernel transcribed line by line into Python (one output pixel at a time, the recurrence run
  from the border to that pixel, exactly as each CUDA thread does), in float64 and in float32
  (numpy float32 scalars, the kernel's arithmetic order). This checks the IRNN.

Checkpoints are saved as the release's ``main.py`` saves them (``{'net', 'clock', 'opt'}``).
The release works on images as OpenCV reads them (BGR) and returns ``(attention map, image)``;
``official_forward`` feeds it the channels reversed and reverses its image back, and
restorelab's arch takes RGB with the converter's reversed first and last convolutions.
Random weights: the default draw, then every IRNN weight from U(-0.9, 0.9) (both signs, as in
the released files; a weight above 1 would grow the recurrence without bound over a row) and
every IRNN bias from U(-0.5, 0.5).
"""
import sys
import types
from pathlib import Path

import numpy as np
import torch

from ._release import import_file

RELEASE = ('stevewongv/SPANet', '82d28899c1793170335fdf2527eb365444533c8b')
CONVERTER = 'spanet'
SIZES = [(64, 64), (48, 80)]
VARIANTS = {
    'SPANet': dict(arch=dict(type='SPANet'), official='SPANet'),
    'IRNN': dict(arch=None, official='irnn'),
}
IRNN_CHANNELS = 3  # channels of the IRNN check (the per-pixel reference is plain Python)


class _IRNNStandIn:
    """What ``irnn.irnn()`` is called as in the release's ``Spacial_IRNN.forward``:
    ``irnn()(x, w_up, w_right, w_down, w_left, b_up, b_right, b_down, b_left)`` ->
    ``(up, right, down, left)``; computed by restorelab's recurrence."""

    def __call__(self, x, *weights_and_biases):
        from restorelab.models.archs.spanet import DIRECTIONS, directional_recurrence
        weights, biases = weights_and_biases[:4], weights_and_biases[4:]
        return tuple(directional_recurrence(x, w, b, d)
                     for d, w, b in zip(DIRECTIONS, weights, biases))


def build_official(release_dir, official):
    if official == 'irnn':
        return None
    stand_in = types.ModuleType('irnn')
    stand_in.irnn = _IRNNStandIn
    sys.modules['irnn'] = stand_in  # SPANet.py's `from irnn import irnn` takes this one
    return import_file(release_dir, 'SPANet.py').SPANet()


def _randomize_irnn(module, generator):
    """Every IRNN weight from U(-0.9, 0.9), every IRNN bias from U(-0.5, 0.5)."""
    with torch.no_grad():
        for name, tensor in module.named_parameters():
            if name.endswith('_weight.weight'):
                tensor.copy_((torch.rand(tensor.shape, generator=generator) - 0.5) * 1.8)
            elif name.endswith('_weight.bias'):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) - 0.5)


def randomize(module, generator):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from official_equivalence import default_randomize
    default_randomize(module, generator)
    for irnn in (module.SAM1.irnn1, module.SAM1.irnn2):
        _randomize_irnn(irnn, generator)


def save_release_checkpoint(module, path):
    optimizer = torch.optim.Adam(module.parameters(), lr=5e-3)
    torch.save({'net': module.state_dict(), 'clock': 40000, 'opt': optimizer.state_dict()}, path)


def official_forward(module, x):
    return module(x.flip(1))[1].flip(1)


# ------------------------------------------------------------------------------------------
# The IRNN check.

def kernel_irnn(x, weight, bias):
    """``IRNN_Forward_cuda.cu`` in Python: ``x`` ``(N, C, H, W)`` numpy array, ``weight`` and
    ``bias`` dicts direction -> ``(C,)`` arrays of the same dtype; returns the dict direction ->
    output. Every output pixel runs its own recurrence from the border, as each CUDA thread does:
    ``out = x[border] > 0 ? x[border] : 0``, then ``temp = out * w[c] + b[c] + x[i]``,
    ``out = temp > 0 ? temp : 0`` for each ``i`` from the pixel after the border to the pixel."""
    n, c, height, width = x.shape
    zero = x.dtype.type(0)
    out = {d: np.empty_like(x) for d in ('up', 'right', 'down', 'left')}

    def relu(v):
        return v if v > zero else zero

    for b in range(n):
        for ch in range(c):
            w, bb = {d: weight[d][ch] for d in out}, {d: bias[d][ch] for d in out}
            for h in range(height):
                for col in range(width):
                    v = relu(x[b, ch, h, width - 1])  # left: from the last column to col
                    for i in range(width - 2, col - 1, -1):
                        v = relu(v * w['left'] + bb['left'] + x[b, ch, h, i])
                    out['left'][b, ch, h, col] = v
                    v = relu(x[b, ch, h, 0])  # right: from column 0 to col
                    for i in range(1, col + 1):
                        v = relu(v * w['right'] + bb['right'] + x[b, ch, h, i])
                    out['right'][b, ch, h, col] = v
                    v = relu(x[b, ch, height - 1, col])  # up: from the last row to h
                    for i in range(height - 2, h - 1, -1):
                        v = relu(v * w['up'] + bb['up'] + x[b, ch, i, col])
                    out['up'][b, ch, h, col] = v
                    v = relu(x[b, ch, 0, col])  # down: from row 0 to h
                    for i in range(1, h + 1):
                        v = relu(v * w['down'] + bb['down'] + x[b, ch, i, col])
                    out['down'][b, ch, h, col] = v
    return out


def compare_irnn(sizes, seed):
    from harness import psnr
    from restorelab.models.archs.spanet import DIRECTIONS, SpatialIRNN

    generator = torch.Generator().manual_seed(seed)
    irnn = SpatialIRNN(IRNN_CHANNELS)
    _randomize_irnn(irnn, generator)
    figures = dict(params=sum(p.numel() for p in irnn.parameters()), channels=IRNN_CHANNELS)
    for h, w in sizes:
        # Inputs of both signs, as the convolutions before each IRNN give.
        x = torch.randn(1, IRNN_CHANNELS, h, w, generator=torch.Generator().manual_seed(
            seed + h * 1000 + w), dtype=torch.float64)
        row = {}
        for dtype in (torch.float64, torch.float32):
            module = irnn.to(dtype)
            with torch.no_grad():
                ours = torch.cat(module(x.to(dtype)), dim=1)
            params = {d: getattr(module, f'{d}_weight') for d in DIRECTIONS}
            reference = kernel_irnn(
                x.to(dtype).numpy(), {d: p.weight.detach().flatten().numpy() for d, p in params.items()},
                {d: p.bias.detach().numpy() for d, p in params.items()})
            reference = torch.from_numpy(np.concatenate([reference[d] for d in DIRECTIONS], 1))
            key = 'float64' if dtype == torch.float64 else 'float32'
            row[f'{key}_max_abs'] = float((ours.double() - reference.double()).abs().max())
            if dtype == torch.float32:
                row['float32_psnr_db'] = psnr(ours, reference)
        figures[f'{h}x{w}'] = row
    return figures


def compare(release_dir, variant, sizes, seed):
    if variant == 'IRNN':
        return compare_irnn(sizes, seed)
    from official_equivalence import compare_torch
    return compare_torch(sys.modules[__name__], release_dir, variant, sizes, seed)
