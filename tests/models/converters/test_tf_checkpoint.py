"""Reading TensorFlow V2 checkpoints without TensorFlow: a file TensorFlow wrote, files the
test writer makes, and the errors for missing, truncated and foreign files."""
import numpy as np
import pytest
import torch

from restorelab.models.converters import read_checkpoint_file
from restorelab.models.converters.tf_checkpoint import (checkpoint_prefix, is_tf_checkpoint,
                                                        read_tf_checkpoint)
from restorelab.utils.errors import CheckpointConversionError
from tests.fixtures.tf_checkpoint import write_tf_checkpoint

# Written by tf.train.Saver (TensorFlow 2.15, tf.compat.v1) for three variables:
#   Generator/basic/conv2d/kernel   float32 (1, 1, 2, 3) = arange(6) / 8
#   Generator/basic/conv2d/bias     float32 (3,)         = [-1.5, 0.25, 3.0]
#   Generator/basic/conv2d_1/kernel float64 (1, 2)       = [[0.5, -2.0]]
# Its index shares key prefixes between entries (prefix compression) and holds real crc32c
# values, which the test writer does not produce.
TF_INDEX = bytes.fromhex(
    '00000608011a020801001b0f47656e657261746f722f62617369632f636f6e7632642f626961730801120412'
    '020803280c35ca7e810b17061d6b65726e656c0801121012020801120208011202080212020803200c281835'
    '0aeecd831609155f312f6b65726e656c0802120812020801120208022024281035a25bfd0300000000010000'
    '000097b6227f000000000100000000c0f2a1b0000103480085010000000001000000001df263c18a01089701'
    '0f0000000000000000000000000000000000000000000000000000000000000000000057fb808b247547db')
TF_DATA = bytes.fromhex(
    '0000c0bf0000803e00004040000000000000003e0000803e0000c03e0000003f0000203f000000000000e03f'
    '00000000000000c0')


def test_reads_a_checkpoint_tensorflow_wrote(tmp_path):
    (tmp_path / 'model-tiny.index').write_bytes(TF_INDEX)
    (tmp_path / 'model-tiny.data-00000-of-00001').write_bytes(TF_DATA)
    expected = {
        'Generator/basic/conv2d/bias': torch.tensor([-1.5, 0.25, 3.0]),
        'Generator/basic/conv2d/kernel': torch.arange(6.).reshape(1, 1, 2, 3) / 8,
        'Generator/basic/conv2d_1/kernel': torch.tensor([[0.5, -2.0]], dtype=torch.float64),
    }
    for path in ('model-tiny', 'model-tiny.index', 'model-tiny.data-00000-of-00001'):
        got = read_tf_checkpoint(tmp_path / path)
        assert list(got) == sorted(expected)
        for name, tensor in expected.items():
            assert got[name].dtype == tensor.dtype and torch.equal(got[name], tensor)
    # read_checkpoint_file (behind every converter) recognises the format by name
    assert list(read_checkpoint_file(tmp_path / 'model-tiny.index')) == sorted(expected)


def test_writer_and_reader_agree(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {'b/kernel': rng.standard_normal((3, 3, 4, 5)).astype(np.float32),
              'a/bias': rng.standard_normal(5), 'a/steps': np.array([7, -2], np.int64)}
    write_tf_checkpoint(tmp_path / 'ck', arrays)
    got = read_tf_checkpoint(tmp_path / 'ck')
    assert list(got) == ['a/bias', 'a/steps', 'b/kernel']
    for name, array in arrays.items():
        assert np.array_equal(got[name].numpy(), array) and got[name].numpy().dtype == array.dtype


def test_path_forms():
    assert checkpoint_prefix('d/model-SPA.index') == 'd/model-SPA'
    assert checkpoint_prefix('d/model-SPA.data-00000-of-00001') == 'd/model-SPA'
    assert checkpoint_prefix('d/model-SPA') == 'd/model-SPA'
    assert is_tf_checkpoint('x.index') and is_tf_checkpoint('x.data-00000-of-00001')
    assert not is_tf_checkpoint('net_latest.pth')


def test_missing_data_file_is_named(tmp_path):
    index, data = write_tf_checkpoint(tmp_path / 'ck', {'w': np.ones(3, np.float32)})
    data.unlink()
    with pytest.raises(CheckpointConversionError,
                       match=r'data file not found: .*ck\.data-00000-of-00001 \(it must lie beside '
                             r'ck\.index\)'):
        read_tf_checkpoint(index)


def test_missing_index_is_named(tmp_path):
    with pytest.raises(CheckpointConversionError, match=r'index not found: .*nothing\.index'):
        read_tf_checkpoint(tmp_path / 'nothing.data-00000-of-00001')


def test_truncated_data_file_is_refused(tmp_path):
    index, data = write_tf_checkpoint(tmp_path / 'ck', {'w': np.ones((2, 3), np.float32)})
    data.write_bytes(data.read_bytes()[:20])
    with pytest.raises(CheckpointConversionError,
                       match=r"variable 'w' of shape \(2, 3\) needs bytes 0\.\.24 .* the file has "
                             r'20: a truncated or foreign data file'):
        read_tf_checkpoint(index)


def test_foreign_index_file_is_refused(tmp_path):
    path = tmp_path / 'model.index'
    path.write_bytes(b'not a table' * 10)
    with pytest.raises(CheckpointConversionError,
                       match=r'not a TensorFlow checkpoint index \(no table magic number'):
        read_tf_checkpoint(path)


def test_index_under_another_name_is_recognised_by_content(tmp_path):
    """A cache may keep ``model-X.index`` as ``<name>.pth`` with its shard as
    ``<name>.data-00000-of-00001``: the index is recognised by its table magic number."""
    index, data = write_tf_checkpoint(tmp_path / 'model-X', {'w': np.arange(4, dtype=np.float32)})
    index.rename(tmp_path / 'released-1234abcd.pth')
    data.rename(tmp_path / 'released-1234abcd.data-00000-of-00001')
    path = tmp_path / 'released-1234abcd.pth'
    assert is_tf_checkpoint(path) and checkpoint_prefix(path) == str(tmp_path / 'released-1234abcd')
    assert torch.equal(read_checkpoint_file(path)['w'], torch.arange(4.))
    torch.save({'w': torch.zeros(1)}, tmp_path / 'plain.pth')  # a torch file is not one
    assert not is_tf_checkpoint(tmp_path / 'plain.pth')
