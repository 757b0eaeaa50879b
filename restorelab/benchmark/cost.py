"""Cost of a model: parameters, FLOPs, latency and peak memory, the same numbers for
tools/benchmark.py, tools/analysis/get_flops.py and tools/analysis/speed.py.

* FLOPs are mmengine's ``FlopAnalyzer`` count (that of ``get_model_complexity_info``) on the
  arch for one ``(1, C, H, W)`` input: multiply-accumulates (conv, linear, matmul exact;
  elementwise ops, softmax and top-k count 0), the convention of fvcore and of the papers'
  "FLOPs" (DRSformer's 242.9 G at 256x256), plus the in-place and batched add-products
  mmengine leaves at 0. ``flops`` counts the arch as built; ``paper_flops`` the function as
  the papers do, in its release formulation (for an arch with a fast path, a copy with every
  ``fast`` flag off and the same weights).
* Latency is the median wall time of ``runs`` calls of ``model.restore`` (with the benchmark's
  padding/tiling/self-ensemble) after ``warmup`` calls, on one image of the given shape; peak
  memory that of one call after them. Both are measured by :mod:`restorelab.utils.profiling`
  (see there how peak memory is read on CUDA and on the CPU).
"""
import copy
import numbers

import torch

from restorelab.engine.watchdog import report_progress
from restorelab.utils import profiling

def count_parameters(module):
    """Number of parameters (every tensor in ``module.parameters()``)."""
    return int(sum(p.numel() for p in module.parameters()))


def check_shape(shape, size_multiple=1):
    """``shape`` as a ``(C, H, W)`` tuple of positive ints (H and W multiples of
    ``size_multiple``), else a ValueError saying what would fit."""
    if not (isinstance(shape, (list, tuple)) and len(shape) == 3 and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise ValueError(f'shape must be (C, H, W) positive ints, e.g. (3, 256, 256); got {shape!r}')
    c, h, w = shape = tuple(int(s) for s in shape)
    if h % size_multiple or w % size_multiple:
        up = lambda n: -(-n // size_multiple) * size_multiple  # noqa: E731
        raise ValueError(f'shape {shape}: H and W must be multiples of the arch\'s size_multiple '
                         f'{size_multiple} to count its FLOPs; use e.g. ({c}, {up(h)}, {up(w)})')
    return shape


def _example_input(shape, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(1, *shape, generator=gen).to(device)


def _baddbmm_flop_jit(inputs, outputs):
    """``baddbmm(input, batch1, batch2)``: the multiply-accumulates of ``batch1 @ batch2``."""
    from mmengine.analysis.jit_handles import bmm_flop_jit
    return bmm_flop_jit(inputs[1:3], outputs)


def _addmm_flop_jit(inputs, outputs):
    from mmengine.analysis.jit_handles import addmm_flop_jit
    return addmm_flop_jit(inputs, outputs)


def _mkldnn_conv_flop_jit(inputs, outputs):
    """``mkldnn_convolution(input, weight, bias, padding, stride, dilation, groups)``: a conv's count."""
    from mmengine.analysis.jit_handles import conv_flop_count, get_shape
    return conv_flop_count(get_shape(inputs[0]), get_shape(inputs[1]), get_shape(outputs[0]), False)


# Products mmengine's counter leaves at 0: in-place addmm and (in-place) batched add-products, which
# optimised archs (DRSformer, Restormer) use to accumulate onto a residual or a partial sum, and the
# oneDNN convolution Restormer's fast path calls directly for 1x1 convs.
_EXTRA_HANDLES = {'aten::addmm_': _addmm_flop_jit, 'aten::baddbmm': _baddbmm_flop_jit,
                  'aten::baddbmm_': _baddbmm_flop_jit, 'aten::mkldnn_convolution': _mkldnn_conv_flop_jit}


def count_flops(arch, shape=(3, 256, 256), seed=0, quiet=True):
    """FLOPs (multiply-accumulates, mmengine's count) of ``arch`` on one ``(1, *shape)`` input.

    mmengine's ``FlopAnalyzer`` with handles added for ``addmm_``, ``baddbmm``, ``baddbmm_`` and
    ``mkldnn_convolution`` (which it would count as 0).

    ``arch`` is a plain ``nn.Module`` (an ImageRestorer's ``.arch``); H and W must
    be multiples of its ``size_multiple``. The number is the ``flops`` of
    ``mmengine.analysis.get_model_complexity_info``, computed by the same
    ``FlopAnalyzer`` without its activation count (which would trace the model a
    second time). ``quiet`` hides the warnings listing the operators counted as 0.
    """
    from mmengine.analysis import FlopAnalyzer

    shape = check_shape(shape, getattr(arch, 'size_multiple', 1))
    device = next(iter(arch.parameters()), torch.empty(0)).device
    was_training = arch.training
    arch.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(arch, (_example_input(shape, device, seed), ))
            analyzer.set_op_handle(*[item for pair in _EXTRA_HANDLES.items() for item in pair])
            analyzer.unsupported_ops_warnings(not quiet).uncalled_modules_warnings(False)
            return int(analyzer.total())
    finally:
        arch.train(was_training)


def runs_fast_path(arch):
    """Whether ``arch`` or one of its modules has a ``fast`` flag that is on (a faster formulation
    of the same function, e.g. ``Restormer(fast=True)``)."""
    return any(getattr(m, 'fast', False) is True for m in arch.modules())


def release_formulation(arch):
    """``arch`` itself when it runs no fast path, otherwise a copy with every module's ``fast`` flag
    off: the same weights computed in the release's formulation (the modules read the flag in their
    forward, so the copy equals one built with ``fast=False``)."""
    if not runs_fast_path(arch):
        return arch
    plain = copy.deepcopy(arch)
    for module in plain.modules():
        if getattr(module, 'fast', None) is True:
            module.fast = False
    return plain


def count_paper_flops(arch, shape=(3, 256, 256), seed=0, quiet=True):
    """FLOPs (multiply-accumulates) of the function as the papers count it: :func:`count_flops` of
    :func:`release_formulation` of ``arch`` (the same number when it runs no fast path)."""
    return count_flops(release_formulation(arch), shape, seed, quiet)


def measure_speed(model, shape=(3, 256, 256), runs=5, warmup=2, device='cpu', seed=0, clock='wall'):
    """Latency and peak memory of ``model.restore`` on one ``(1, *shape)`` image, measured by
    :mod:`restorelab.utils.profiling` (the benchmarks' harness): the first call, the median of
    ``runs`` calls after ``warmup`` calls on ``clock`` ('wall' or 'cpu'), and the peak memory of one
    more call.

    Returns ``dict(first_ms=, latency_ms=median, latencies_ms=[...], peak_memory_mb=...,
    memory_method=..., shape=..., runs=..., warmup=..., clock=...)``. ``model`` is an ImageRestorer
    (any H, W: it pads).
    """
    shape = check_shape(shape)
    x = _example_input(shape, device, seed)

    def call():
        report_progress('evaluation', detail='timing a restoration')
        with torch.no_grad():
            return model.restore(x)

    figures, _ = profiling.repeated(call, runs, warmup, clock, device)
    memory = profiling.peak_memory_mb(call, device)[1]
    return dict(first_ms=1000 * figures['first'], latency_ms=1000 * figures['steady'],
                latencies_ms=[1000 * t for t in figures['times'][warmup:]], peak_memory_mb=memory,
                memory_method='unavailable' if memory is None else
                profiling.MEMORY_METHODS[torch.device(device).type],
                shape=list(shape), runs=runs, warmup=warmup, clock=clock)


def measure_cost(model, shape=(3, 256, 256), runs=5, warmup=2, device='cpu', seed=0, timed=None):
    """Parameters, FLOPs (as executed, ``flops``, and as the papers count them, ``paper_flops``) and
    whether a fast path runs (``fast_path``) for ``model.arch``, plus :func:`measure_speed` of
    ``timed`` (default ``model``, with the arch as built; the benchmark times an exported .onnx of
    the same arch), one dict."""
    flops = count_flops(model.arch, shape, seed)
    fast_path = runs_fast_path(model.arch)
    out = dict(params=count_parameters(model.arch), flops=flops,
               paper_flops=count_paper_flops(model.arch, shape, seed) if fast_path else flops,
               fast_path=fast_path, flops_shape=list(shape), device=str(device))
    out.update(measure_speed(timed or model, shape, runs, warmup, device, seed))
    return out
