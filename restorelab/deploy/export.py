"""Export a restorelab arch to ONNX, verified against PyTorch with ONNX Runtime.

Exporter: torch 2.13 has two, and this module uses the TorchScript one
(``torch.onnx.export(..., dynamo=False)``, opsets up to 20), which needs no onnxscript.
Measured on the tiny models of tests/deploy (torch 2.13.0, 1 thread): it exports every
restorelab arch in 0.3-5 s; the torch.export-based exporter (``dynamo=True``, with
onnxscript 0.7) took 20-90 s per tiny model, failed on IDT (``.numpy()`` of a traced
tensor in its cached position index) and on AIDNet with dynamic H, W, and gave the same
outputs (>= 145 dB against PyTorch) where it worked.

What is exported is the arch's plain formulation: every sub-module with a boolean ``fast``
attribute (DRSformer's blocks) is switched to ``fast=False`` in a copy. DRSformer's fast
path calls custom autograd Functions (``PairSumReLU``, its depth-wise conv) that have no
ONNX form in the TorchScript exporter; its release formulation is the same function on the
same weights (tests hold them equal), and ONNX Runtime fuses the graph its own way anyway.
The verification below compares the file against the arch as the user runs it (fast path).

After the export the graph is run by ONNX Runtime on random images (the export shape, and a
second shape when ``dynamic``; batch 2 in the second run) and the file is written only when
the PSNR between PyTorch's and ONNX Runtime's outputs is at least ``min_psnr`` (50 dB for
float32; 40 dB for ``fp16``, whose weights are rounded to float16). Otherwise an
:class:`ExportVerificationError` names the first sub-module whose output differs (ONNX node
names carry the module path) and the largest-error location. The file appears complete or
not at all (a temporary file renamed on success).
"""
import copy
import os
import warnings

import numpy as np
import torch

from restorelab.utils.errors import DeployError, ExportVerificationError
from restorelab.utils.fileio import atomic_path
from .runtime import INPUT_NAME, META_PREFIX, OUTPUT_NAME, new_session, psnr_db, require_deploy

# Opsets the TorchScript exporter writes (torch.onnx._constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
# is 20 in torch 2.13); below 14 some ops of the archs have no ONNX form. 17 is the one tested.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 14, 20, 17
MIN_PSNR_FP32, MIN_PSNR_FP16 = 50.0, 40.0
DEFAULT_SIDE = 256


def default_shape(size_multiple):
    """The export shape when none is given: 256x256, rounded up to ``size_multiple``."""
    side = -(-DEFAULT_SIDE // size_multiple) * size_multiple
    return side, side


def check_export_args(size_multiple, shape, opset, arch_name):
    """Raise a DeployError for a shape that is not a multiple of ``size_multiple`` or an opset
    out of range."""
    h, w = shape
    if not all(isinstance(v, int) and v > 0 for v in shape) or h % size_multiple or w % size_multiple:
        up = [-(-max(v, 1) // size_multiple) * size_multiple for v in shape]
        raise DeployError(f'--shape {h} {w}: {arch_name} needs H and W that are multiples of its '
                          f'size_multiple {size_multiple}; e.g. --shape {up[0]} {up[1]}')
    if not (isinstance(opset, int) and MIN_OPSET <= opset <= MAX_OPSET):
        raise DeployError(f'--opset {opset}: the exporter writes opsets {MIN_OPSET} to {MAX_OPSET} '
                          f'(default {DEFAULT_OPSET})')


def plain_copy(arch):
    """A copy of ``arch`` in eval mode with every sub-module's ``fast`` flag set to False."""
    arch = copy.deepcopy(arch).eval()
    for module in arch.modules():
        if isinstance(getattr(module, 'fast', None), bool):
            module.fast = False
    return arch


def _float16_weights(onnx, model):
    """Store every float32 initializer of ``model`` as float16, followed by a Cast to float32:
    half the file, float32 arithmetic (ONNX Runtime's CPU provider has few float16 kernels)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                       init.name + '__fp16')
        kept.append(half)
        casts.append(helper.make_node('Cast', [half.name], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + '__to_fp32'))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def _module_path(node_name):
    """The module path of an exported node, from the scope in its name:
    '/encoder_level1/encoder_level1.0/attn/MatMul' -> 'encoder_level1.0.attn'."""
    parts = [p for p in node_name.split('/')[:-1] if p]
    path = ''
    for part in parts:
        path = part if not path or part.startswith(path + '.') else f'{path}.{part}'
    return path


def locate_difference(arch, onnx_path, x, min_psnr):
    """A sentence naming the first sub-module (in order of completion) whose output in the
    ONNX graph differs from PyTorch's by less than ``min_psnr`` dB, or saying that none does
    without ONNX Runtime's graph optimisations."""
    onnx, ort = require_deploy()
    model = onnx.shape_inference.infer_shapes(onnx.load(onnx_path))
    known = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
    by_module = {}  # module path -> [(graph order, output name)]
    for order, node in enumerate(model.graph.node):
        for out in node.output:
            if out in known:
                by_module.setdefault(_module_path(node.name), []).append((order, out))
    outputs = sorted({name for entries in by_module.values() for _, name in entries})
    del model.graph.output[:]
    model.graph.output.extend(known[name] for name in outputs)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=['CPUExecutionProvider'])
    values = dict(zip(outputs, session.run(None, {INPUT_NAME: x.numpy()})))

    captured, names = [], {m: n for n, m in arch.named_modules()}

    def hook(module, _inputs, output):
        if torch.is_tensor(output):
            captured.append((names[module], output.detach()))

    handles = [m.register_forward_hook(hook) for m in arch.modules()]
    try:
        with torch.no_grad():
            arch(x)
    finally:
        for handle in handles:
            handle.remove()
    for path, reference in captured:
        candidates = [name for _, name in sorted(by_module.get(path, []))
                      if values[name].shape == tuple(reference.shape)]
        if not candidates or not path:
            continue
        got = values[candidates[-1]]
        score = psnr_db(reference.numpy(), got)
        if score < min_psnr:
            module = dict(arch.named_modules())[path]
            return (f'the first sub-module whose ONNX output differs is {path!r} '
                    f'({type(module).__name__}; {score:.1f} dB, ONNX node output {candidates[-1]!r})')
    return ('no sub-module differs when ONNX Runtime runs the graph without its graph '
            'optimisations: the difference comes from those optimisations or the last op')


def _largest_error(reference, got):
    diff = np.abs(reference.astype(np.float64) - got)
    n, c, y, x = np.unravel_index(int(diff.argmax()), diff.shape)
    return (f'largest error {diff.max():.3g} at image {n}, channel {c}, y={y}, x={x} '
            f'(PyTorch {reference[n, c, y, x]:.6f}, ONNX Runtime {got[n, c, y, x]:.6f})')


def verification_inputs(shape, size_multiple, dynamic, seed=0):
    """The random images the export is checked on: ``(1, 3, H, W)`` at the export shape, then
    ``(2, 3, H', W')`` with H' = H + size_multiple, W' = W + 2 size_multiple when dynamic (the
    export shape otherwise)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = shape
    second = (h + size_multiple, w + 2 * size_multiple) if dynamic else (h, w)
    return [torch.rand(1, 3, h, w, generator=gen), torch.rand(2, 3, *second, generator=gen)]


def verify(arch, onnx_path, inputs, min_psnr, threads=None):
    """Run ``arch`` (PyTorch) and ``onnx_path`` (ONNX Runtime) on ``inputs``; returns the PSNRs
    (dB) or raises an ExportVerificationError explaining the first failure."""
    session = new_session(onnx_path, threads)
    scores = []
    for x in inputs:
        with torch.no_grad():
            reference = arch(x).numpy()
        try:
            got = session.run(None, {INPUT_NAME: x.numpy()})[0]
        except Exception as err:  # noqa: BLE001  ORT's own error classes
            raise ExportVerificationError(
                f'ONNX Runtime cannot run the exported graph on a {tuple(x.shape)} input '
                f'({str(err).strip()[:400]}); the file was not written') from None
        score = psnr_db(reference, got) if got.shape == reference.shape else -float('inf')
        if score < min_psnr:
            where = (_largest_error(reference, got) if got.shape == reference.shape
                     else f'output shape {got.shape} instead of {reference.shape}')
            raise ExportVerificationError(
                f'the exported graph does not reproduce PyTorch on a random {tuple(x.shape)} input: '
                f'{score:.1f} dB < {min_psnr:g} dB; {where}; '
                f'{locate_difference(plain_copy(arch), onnx_path, x[:1], min_psnr)}. '
                'The file was not written')
        scores.append(score)
    return scores


def export_onnx(arch, out_path, shape=None, dynamic=False, opset=DEFAULT_OPSET, fp16=False,
                min_psnr=None, arch_name=None, log=None):
    """Export ``arch`` (an ``nn.Module`` with ``size_multiple``) to ``out_path`` and verify it.

    Args:
        shape: ``(H, W)`` of the traced input (default 256x256 rounded up to the arch's
            ``size_multiple``); a multiple of ``size_multiple``.
        dynamic: H and W (and the batch) free in the graph; verified at a second size.
            Without it only the batch is free.
        opset: ONNX opset, ``MIN_OPSET`` to ``MAX_OPSET``.
        fp16: store the weights as float16 (computed in float32); verified at
            ``MIN_PSNR_FP16`` dB.
        min_psnr: the PSNR (dB) below which the file is refused (default 50, 40 with fp16).
        arch_name: recorded in the metadata (default the arch's class name).
        log: ``log(message)`` for progress lines, or None.

    Returns:
        dict(path, psnr_db (one per verification input), metadata).
    """
    onnx, _ = require_deploy()
    from restorelab.models.restorers.inference_utils import check_size_multiple
    from restorelab.version import __version__

    size_multiple = check_size_multiple(getattr(arch, 'size_multiple', 1), type(arch).__name__)
    arch_name = arch_name or type(arch).__name__
    shape = tuple(shape) if shape is not None else default_shape(size_multiple)
    check_export_args(size_multiple, shape, opset, arch_name)
    min_psnr = min_psnr if min_psnr is not None else (MIN_PSNR_FP16 if fp16 else MIN_PSNR_FP32)
    out_path = os.fspath(out_path)
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise DeployError(f'the folder of {out_path!r} does not exist; create it first')
    arch = arch.eval()
    traced = plain_copy(arch)
    axes = {0: 'batch', 2: 'height', 3: 'width'} if dynamic else {0: 'batch'}
    inputs = verification_inputs(shape, size_multiple, dynamic)
    with atomic_path(out_path) as tmp:  # the umask's mode, fsynced, renamed once verified
        if log:
            log(f'exporting {arch_name} at {shape[0]}x{shape[1]} (opset {opset}, '
                f'{"dynamic" if dynamic else "static"} H, W)')
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter('ignore')
                torch.onnx.export(traced, (inputs[0],), tmp, dynamo=False, opset_version=opset,
                                  input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                  dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
                                  do_constant_folding=True)
        except Exception as err:  # noqa: BLE001  the exporter's errors are long; keep the gist
            text = ' '.join(str(err).split())[:500]
            raise DeployError(f'torch.onnx.export failed for {arch_name} at opset {opset}: '
                              f'{type(err).__name__}: {text}') from None
        model = onnx.load(tmp)
        if fp16:
            model = _float16_weights(onnx, model)
        metadata = dict(arch=arch_name, size_multiple=str(size_multiple), version=__version__,
                        dynamic='true' if dynamic else 'false', export_shape=f'{shape[0]}x{shape[1]}',
                        weights='float16' if fp16 else 'float32', opset=str(opset))
        onnx.helper.set_model_props(model, {META_PREFIX + k: v for k, v in metadata.items()})
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        if log:
            log('verifying with ONNX Runtime on ' + ', '.join(str(tuple(x.shape)) for x in inputs))
        scores = verify(arch, tmp, inputs, min_psnr)
    return dict(path=out_path, psnr_db=scores, metadata=metadata,
                shapes=[tuple(x.shape) for x in inputs])
