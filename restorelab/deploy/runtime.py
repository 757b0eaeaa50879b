"""The ONNX Runtime backend: an exported ``.onnx`` run as an arch.

:class:`OnnxRuntimeArch` is an ``nn.Module`` that takes and returns ``(N, 3, H, W)`` torch
tensors and runs an ONNX Runtime session in between; its ``size_multiple`` comes from the
file's metadata. :func:`load_onnx_model` wraps it in an :class:`ImageRestorer`, so padding,
tiling and self-ensemble are the PyTorch path's own (``restore_tensor``): the backend only
supplies the function that runs the arch.

A file exported for one size (not ``--dynamic``) runs only at that size; any other padded
size raises a :class:`DeployError` suggesting ``--tile`` at the exported size or a
re-export with ``--dynamic`` (it does not tile on its own: the tiles would change the
result, and the user should choose that).
"""
import os

import torch
import torch.nn as nn

from restorelab.utils.errors import DeployDependencyError, DeployError
from restorelab.utils.profiling import agreement_db

# metadata_props keys written by export_onnx and required here.
META_PREFIX = 'restorelab.'
META_KEYS = ('arch', 'size_multiple', 'version', 'dynamic', 'export_shape', 'weights')
INPUT_NAME, OUTPUT_NAME = 'input', 'output'
INSTALL_HINT = "pip install -e '.[deploy]'"


def require_deploy():
    """Import and return ``(onnx, onnxruntime)``, or raise a DeployDependencyError saying how to
    install them."""
    missing = []
    try:
        import onnx
    except ImportError:
        onnx = None
        missing.append('onnx')
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
        missing.append('onnxruntime')
    if missing:
        raise DeployDependencyError(f'{" and ".join(missing)} not installed: ONNX export and the '
                                    f'onnxruntime backend need them; {INSTALL_HINT}')
    return onnx, onnxruntime


# PSNR (dB, peak 1) of one output against another (arrays or tensors of one shape), float64;
# ``inf`` when they are equal: the harness's agreement measure, under the name the deploy API uses.
psnr_db = agreement_db


def new_session(path, threads=None):
    """An ONNX Runtime CPU session of ``path``; ``threads``: intra-op threads (None: as many as
    PyTorch uses, ``torch.get_num_threads()``, so that both backends get the same cores). A
    file ONNX Runtime cannot read raises a DeployError naming it."""
    _, ort = require_deploy()
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(os.fspath(path), options, providers=['CPUExecutionProvider'])
    except Exception as err:  # noqa: BLE001  ORT raises its own classes for bad files
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise DeployError(f'{os.fspath(path)!r} is not an ONNX model ONNX Runtime can load ({first}); '
                          'export it again with tools/deploy/export_onnx.py') from None


def read_metadata(session, path):
    """restorelab's metadata of a session's model as a dict (``size_multiple`` an int,
    ``dynamic`` a bool, ``export_shape`` ``(H, W)``), after checking the model's inputs and
    outputs; a file without it, or with other inputs, raises a DeployError."""
    props = session.get_modelmeta().custom_metadata_map
    missing = [k for k in META_KEYS if META_PREFIX + k not in props]
    if missing:
        raise DeployError(
            f'{os.fspath(path)!r} has no restorelab metadata ({", ".join(META_PREFIX + k for k in missing)} '
            'missing from its metadata_props), so its padding is unknown; export the model with '
            'tools/deploy/export_onnx.py')
    meta = {k: props[META_PREFIX + k] for k in META_KEYS}
    try:
        meta['size_multiple'] = int(meta['size_multiple'])
        meta['export_shape'] = tuple(int(v) for v in meta['export_shape'].split('x'))
        if meta['size_multiple'] < 1 or len(meta['export_shape']) != 2 \
                or meta['dynamic'] not in ('true', 'false'):
            raise ValueError
    except ValueError:
        raise DeployError(f'{os.fspath(path)!r}: malformed restorelab metadata {props}; export it '
                          'again with tools/deploy/export_onnx.py') from None
    meta['dynamic'] = meta['dynamic'] == 'true'
    inputs, outputs = session.get_inputs(), session.get_outputs()
    described = [f'{i.name} {i.shape} {i.type}' for i in inputs]
    if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 4 \
            or inputs[0].shape[1] != 3 or inputs[0].type != 'tensor(float)':
        raise DeployError(
            f'{os.fspath(path)!r} takes input(s) {"; ".join(described)} and has {len(outputs)} output(s); '
            'expected one float input (N, 3, H, W) and one output, as tools/deploy/export_onnx.py '
            'writes them')
    return meta


class OnnxRuntimeArch(nn.Module):
    """An exported arch run by ONNX Runtime: ``(N, 3, H, W)`` torch tensor in, same out.

    ``size_multiple``, ``arch_name``, ``dynamic`` and ``export_shape`` come from the file's
    metadata. Inputs are computed in float32 on the CPU and returned on the input's device
    and dtype. ``threads``: ONNX Runtime's intra-op threads (None: ``torch.get_num_threads()``).
    """

    def __init__(self, path, threads=None):
        super().__init__()
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise DeployError(f'ONNX file {path!r} does not exist; export one with '
                              'tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx')
        self.path = path
        self.session = new_session(path, threads)
        meta = read_metadata(self.session, path)
        self.metadata = meta
        self.arch_name = meta['arch']
        self.size_multiple = meta['size_multiple']
        self.dynamic = meta['dynamic']
        self.export_shape = meta['export_shape']
        self.input_name = self.session.get_inputs()[0].name

    def extra_repr(self):
        shape = 'dynamic H, W' if self.dynamic else 'only {}x{}'.format(*self.export_shape)
        return f'{self.path!r}, arch={self.arch_name}, size_multiple={self.size_multiple}, {shape}'

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'OnnxRuntimeArch expects (N, 3, H, W), got {tuple(x.shape)}')
        h, w = x.shape[-2:]
        if not self.dynamic and (h, w) != self.export_shape:
            side = self.export_shape[0]
            tile = (f'run it in tiles of the exported size (tools/derain.py --tile {side}; '
                    f'needs an image of at least {side}x{side}), or '
                    if self.export_shape[0] == self.export_shape[1] else '')
            raise DeployError(
                f'{self.path!r} was exported for {self.export_shape[0]}x{self.export_shape[1]} inputs '
                f'only (static shape) but gets {h}x{w} (the image padded to a multiple of '
                f'{self.size_multiple}): {tile}export it again with --dynamic')
        array = x.detach().to('cpu', torch.float32).contiguous().numpy()
        out = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype)


def load_onnx_model(path, test_cfg=None, threads=None):
    """An :class:`ImageRestorer` (inference only) whose arch is :class:`OnnxRuntimeArch` of
    ``path``: ``restore``/``predict`` pad, tile and self-ensemble exactly as the PyTorch path.
    ``test_cfg`` as ImageRestorer's; ``bf16`` and ``compile`` are PyTorch options and refused."""
    from restorelab.models.data_preprocessors import RestorationDataPreprocessor
    from restorelab.models.restorers import ImageRestorer

    test_cfg = dict(test_cfg or {})
    for key in ('bf16', 'compile'):
        if test_cfg.get(key):
            raise DeployError(f'test_cfg.{key}={test_cfg[key]!r} is a PyTorch option; the onnxruntime '
                              'backend runs the exported float32 graph as it is')
    arch = OnnxRuntimeArch(path, threads)
    model = ImageRestorer(arch=arch, pixel_loss=None,
                          data_preprocessor=RestorationDataPreprocessor(), test_cfg=test_cfg)
    return model.eval()
