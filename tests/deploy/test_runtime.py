"""The ONNX Runtime backend: the PyTorch path's padding, tiling and self-ensemble (restore_tensor),
static-shape files, and files it refuses."""
import pytest
import torch

from restorelab.deploy import OnnxRuntimeArch, load_onnx_model, psnr_db
from restorelab.utils.errors import DeployError


@pytest.mark.parametrize('test_cfg', [
    dict(),
    dict(tile=16, tile_overlap=8, tile_batch_size=3),
    dict(tile=16, tile_overlap=4, self_ensemble=True, pad_mode='replicate'),
])
def test_backend_restores_as_the_pytorch_path(tiny_model, test_cfg):
    model, _, dynamic, _ = tiny_model
    x = torch.rand(1, 3, 21, 27, generator=torch.Generator().manual_seed(3))  # pads to 24x32
    ort_model = load_onnx_model(dynamic, test_cfg)
    saved = model.test_cfg
    model.test_cfg = ort_model.test_cfg
    try:
        expected = model.restore(x)
    finally:
        model.test_cfg = saved
    got = ort_model.restore(x)
    assert got.shape == x.shape
    assert psnr_db(expected.numpy(), got.numpy()) >= 50


def test_static_file_runs_in_tiles_of_its_size_and_explains_other_sizes(tiny_model):
    model, _, _, static = tiny_model
    x = torch.rand(1, 3, 50, 41, generator=torch.Generator().manual_seed(4))
    with pytest.raises(DeployError) as info:
        load_onnx_model(static).restore(x)
    text = str(info.value)
    assert 'exported for 32x32 inputs only' in text and 'gets 56x48' in text
    assert '--tile 32' in text and '--dynamic' in text
    tiled = load_onnx_model(static, dict(tile=32, tile_overlap=8)).restore(x)
    model.test_cfg = dict(model.test_cfg, tile=32, tile_overlap=8)
    try:
        expected = model.restore(x)
    finally:
        model.test_cfg = dict(model.test_cfg, tile=None)
    assert psnr_db(expected.numpy(), tiled.numpy()) >= 50


def test_corrupt_file_is_refused(tmp_path):
    path = tmp_path / 'corrupt.onnx'
    path.write_bytes(b'\x08\x07not a protobuf' * 10)
    with pytest.raises(DeployError, match=r"corrupt\.onnx' is not an ONNX model ONNX Runtime can load"):
        OnnxRuntimeArch(path)
    with pytest.raises(DeployError, match='does not exist'):
        OnnxRuntimeArch(tmp_path / 'missing.onnx')


def _identity_model(path, channels, metadata):
    import onnx
    from onnx import TensorProto, helper
    tensor = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ['N', channels, 'H', 'W'])
              for n in ('input', 'output')]
    graph = helper.make_graph([helper.make_node('Identity', ['input'], ['output'])], 'g',
                              [tensor[0]], [tensor[1]])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.save(model, path)
    return path


def test_files_without_restorelab_metadata_or_other_inputs_are_refused(tmp_path):
    meta = {'restorelab.' + k: v for k, v in dict(
        arch='Identity', size_multiple='1', version='0', dynamic='true', export_shape='8x8',
        weights='float32').items()}
    ok = OnnxRuntimeArch(_identity_model(tmp_path / 'ok.onnx', 3, meta))
    x = torch.rand(1, 3, 5, 7)
    assert torch.equal(ok(x), x)  # the control: the same graph with 3 channels runs
    with pytest.raises(DeployError, match=r"takes input\(s\) input \['N', 1, 'H', 'W'\] tensor\(float\) and has 1"):
        OnnxRuntimeArch(_identity_model(tmp_path / 'gray.onnx', 1, meta))
    with pytest.raises(DeployError, match='has no restorelab metadata'):
        OnnxRuntimeArch(_identity_model(tmp_path / 'bare.onnx', 3, {}))
    bad = dict(meta, **{'restorelab.size_multiple': 'eight'})
    with pytest.raises(DeployError, match='malformed restorelab metadata'):
        OnnxRuntimeArch(_identity_model(tmp_path / 'bad.onnx', 3, bad))


def test_pytorch_only_options_are_refused(tiny_model):
    with pytest.raises(DeployError, match='bf16'):
        load_onnx_model(tiny_model[2], dict(bf16=True))
