"""Every arch exports to ONNX and ONNX Runtime reproduces PyTorch (>= 50 dB) at two sizes; a graph
that does not is refused, naming the sub-module; float16 weights."""
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
from deploy_helpers import TINY_ARCHS, build_arch, tiny_shape

from restorelab.deploy import OnnxRuntimeArch, export_onnx, psnr_db
from restorelab.utils.errors import DeployError, ExportVerificationError


@pytest.mark.parametrize('name', list(TINY_ARCHS))
def test_every_arch_exports_with_dynamic_height_and_width(name, tmp_path):
    arch = build_arch(name)
    path = tmp_path / f'{name}.onnx'
    shape = tiny_shape(arch)
    result = export_onnx(arch, path, shape=shape, dynamic=True)
    assert len(result['psnr_db']) == 2 and min(result['psnr_db']) >= 50
    # Checked again here, through the backend, at a third size the export never saw.
    runner = OnnxRuntimeArch(path)
    assert runner.size_multiple == arch.size_multiple and runner.dynamic
    assert runner.arch_name == type(arch).__name__
    m = arch.size_multiple
    x = torch.rand(1, 3, shape[0] + 2 * m, shape[1] + m, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = arch(x)
    got = runner(x)
    assert got.shape == expected.shape
    assert psnr_db(expected.numpy(), got.numpy()) >= 50


def test_static_export_records_its_shape_and_fp16_weights(tmp_path):
    import onnx
    arch = build_arch('Restormer')
    path = tmp_path / 'r16.onnx'
    result = export_onnx(arch, path, shape=(24, 32), fp16=True, arch_name='Restormer')
    assert min(result['psnr_db']) >= 40
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta['restorelab.dynamic'] == 'false' and meta['restorelab.export_shape'] == '24x32'
    assert meta['restorelab.weights'] == 'float16' and meta['restorelab.size_multiple'] == '8'
    weights = [i for i in onnx.load(path).graph.initializer if i.name.endswith('__fp16')]
    assert weights and all(i.data_type == onnx.TensorProto.FLOAT16 for i in weights)
    assert OnnxRuntimeArch(path).export_shape == (24, 32)


class _ExportsDifferently(nn.Module):
    """Adds 0.1 only while being exported: the graph differs from PyTorch in this module."""

    def forward(self, x):
        return x + 0.1 if torch.onnx.is_in_onnx_export() else x


class _Broken(nn.Module):
    size_multiple = 1

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 3, 3, padding=1)
        self.odd_one = _ExportsDifferently()
        self.tail = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.tail(self.odd_one(self.head(x)))


def test_a_graph_that_differs_is_refused_naming_the_module(tmp_path):
    path = tmp_path / 'broken.onnx'
    with pytest.raises(ExportVerificationError) as info:
        export_onnx(_Broken(), path, shape=(16, 16))
    text = str(info.value)
    assert "'odd_one'" in text and '_ExportsDifferently' in text
    assert 'largest error' in text and 'not written' in text
    assert os.listdir(tmp_path) == []  # neither the file nor its temporary


@pytest.mark.parametrize('shape, opset, message', [
    ((20, 16), 17, 'multiples of its size_multiple 8; e.g. --shape 24 16'),
    ((16, 16), 99, 'opsets 14 to 20'),
])
def test_bad_export_arguments(tmp_path, shape, opset, message):
    with pytest.raises(DeployError, match=message.replace('.', r'\.')):
        export_onnx(build_arch('Restormer'), tmp_path / 'x.onnx', shape=shape, opset=opset)
    assert not os.listdir(tmp_path)


def test_aidnet_export_pooling_equals_the_release_pooling(monkeypatch):
    """AIDNet pools with adaptive pooling while exporting; the same numbers as whole-map pooling."""
    from restorelab.models.archs import aidnet
    x = torch.randn(2, 32, 7, 9, dtype=torch.float64)
    for pool in (torch.nn.functional.avg_pool2d, torch.nn.functional.max_pool2d):
        eager = aidnet._global_pool(x, pool)
        with monkeypatch.context() as patch:
            patch.setattr(torch.onnx, 'is_in_onnx_export', lambda: True)
            exporting = aidnet._global_pool(x, pool)
        assert eager.shape == exporting.shape == (2, 32, 1, 1)
        assert np.abs((eager - exporting).numpy()).max() <= 1e-12
