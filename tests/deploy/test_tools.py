"""tools/deploy/export_onnx.py and tools/derain.py --backend onnxruntime: files written, results
equal to the PyTorch path, and one clear message with exit 2 for each user mistake."""
import os
import sys

import pytest
from deploy_helpers import TINY_CONFIG

from restorelab.deploy import psnr_db
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
from tool_helpers import load_tool  # noqa: E402


@pytest.fixture(scope='module')
def export_tool():
    return load_tool('tools/deploy/export_onnx.py')


@pytest.fixture(scope='module')
def derain_tool():
    return load_tool('tools/derain.py')


def test_export_tool_writes_a_checked_file(export_tool, tiny_model, tmp_path, capsys):
    out = tmp_path / 'tiny.onnx'
    assert export_tool.main([TINY_CONFIG, tiny_model[1], str(out), '--shape', '16', '24']) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and 'ONNX Runtime vs PyTorch: (1, 3, 16, 24)' in printed
    assert sorted(os.listdir(tmp_path)) == ['tiny.onnx']


def _write_config(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('case', ['missing config', 'not a model', 'missing checkpoint',
                                  'bad shape', 'bad opset', 'unknown name', 'no onnxruntime'])
def test_export_tool_user_mistakes_exit_2(export_tool, tiny_model, tmp_path, capsys, case,
                                          monkeypatch):
    ckpt, out = tiny_model[1], str(tmp_path / 'x.onnx')
    argv, expected = {
        'missing config': ([str(tmp_path / 'nope.py'), ckpt, out], 'nope.py'),
        'not a model': ([_write_config(tmp_path / 'data.py', 'data_root = "x"\n'), ckpt, out],
                        'has no `model` entry'),
        'missing checkpoint': ([TINY_CONFIG, str(tmp_path / 'no.pth'), out],
                               "no.pth' does not exist"),
        'bad shape': ([TINY_CONFIG, ckpt, out, '--shape', '20', '16'],
                      'multiples of its size_multiple 8; e.g. --shape 24 16'),
        'bad opset': ([TINY_CONFIG, ckpt, out, '--opset', '9'], 'opsets 14 to 20'),
        'unknown name': (['no_such_model', out], 'no_such_model'),
        'no onnxruntime': ([TINY_CONFIG, ckpt, out], "pip install -e '.[deploy]'"),
    }[case]
    if case == 'no onnxruntime':
        monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import raises ImportError
    assert export_tool.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and expected in err and 'Traceback' not in err
    assert not os.listdir(tmp_path) or os.listdir(tmp_path) == ['data.py']


def _rainy_folder(root, sizes=((19, 29), (24, 24))):
    import numpy as np
    rng = np.random.default_rng(0)
    for i, size in enumerate(sizes):
        imwrite_rgb(os.path.join(root, f'{i}.png'), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return str(root)


def test_derain_backend_onnxruntime_equals_pytorch(derain_tool, tiny_model, tmp_path):
    _, ckpt, dynamic, _ = tiny_model
    folder = _rainy_folder(tmp_path / 'in')
    # Self-ensemble goes through the same restore_tensor (tests/deploy/test_runtime.py).
    common = ['--tile', '16', '--tile-overlap', '4', '--no-progress', '--format', 'png']
    assert derain_tool.main([TINY_CONFIG, ckpt, folder, '--out', str(tmp_path / 'pt')] + common) == 0
    assert derain_tool.main(['--backend', 'onnxruntime', dynamic, folder,
                             '--out', str(tmp_path / 'ort')] + common) == 0
    for name in ('0.png', '1.png'):
        a = imread_rgb(str(tmp_path / 'pt' / name)) / 255.0
        b = imread_rgb(str(tmp_path / 'ort' / name)) / 255.0
        assert a.shape == b.shape and psnr_db(a, b) >= 50


def test_derain_backend_onnxruntime_mistakes(derain_tool, tiny_model, tmp_path, capsys):
    folder = _rainy_folder(tmp_path / 'in', sizes=((20, 20),))
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'garbage')
    assert derain_tool.main(['--backend', 'onnxruntime', str(corrupt), folder]) == 2
    err = capsys.readouterr().err
    assert 'corrupt.onnx' in err and 'not an ONNX model' in err and 'Traceback' not in err
    # A static 32x32 file on a 20x20 image: that file fails, saying what to do.
    assert derain_tool.main(['--backend', 'onnxruntime', tiny_model[3], folder, '--no-progress',
                             '--out', str(tmp_path / 'out')]) == 1
    err = capsys.readouterr().err
    assert 'exported for 32x32 inputs only' in err and '--dynamic' in err
    with pytest.raises(SystemExit) as info:
        derain_tool.main(['--backend', 'onnxruntime', tiny_model[2], folder, '--bf16'])
    assert info.value.code == 2 and '--bf16 is a PyTorch option' in capsys.readouterr().err
