"""ONNX export and the ONNX Runtime backend (needs ``pip install -e '.[deploy]'``).

- :func:`export_onnx` (``export.py``): an arch to a ``.onnx`` with restorelab's metadata,
  written only when ONNX Runtime reproduces PyTorch (see the module for the exporter chosen);
- :func:`load_onnx_model` / :class:`OnnxRuntimeArch` (``runtime.py``): a ``.onnx`` run as the
  arch of an ImageRestorer, so padding, tiling and self-ensemble are the PyTorch path's.

onnx and onnxruntime are imported when used, not when this package is.
"""
from .export import default_shape, export_onnx
from .runtime import OnnxRuntimeArch, load_onnx_model, psnr_db, require_deploy

__all__ = ['OnnxRuntimeArch', 'default_shape', 'export_onnx', 'load_onnx_model', 'psnr_db',
           'require_deploy']
