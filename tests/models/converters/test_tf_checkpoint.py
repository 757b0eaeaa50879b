"""Reading TensorFlow V2 checkpoints without TensorFlow: a file TensorFlow wrote, files the
test writer makes (tests/fixtures/tf_checkpoint.py) by prefix, file, folder and zip archive, and
the errors for missing, truncated, damaged, foreign and unsupported files."""
import zipfile

import numpy as np
import pytest
import torch

from restorelab.models.converters import read_checkpoint_file
from restorelab.models.converters.tf_checkpoint import (checkpoint_prefix, crc32c,
                                                        is_tf_checkpoint, masked_crc32c,
                                                        read_tf_checkpoint)
from restorelab.utils.errors import CheckpointConversionError
from tests.fixtures import tf_checkpoint as writer
from tests.fixtures.tf_checkpoint import write_tf_checkpoint

# Written by tf.train.Saver (TensorFlow 2.15, tf.compat.v1) for three variables:
#   Generator/basic/conv2d/kernel   float32 (1, 1, 2, 3) = arange(6) / 8
#   Generator/basic/conv2d/bias     float32 (3,)         = [-1.5, 0.25, 3.0]
#   Generator/basic/conv2d_1/kernel float64 (1, 2)       = [[0.5, -2.0]]
# Its index shares key prefixes between entries (prefix compression) and holds the block
# checksums TensorFlow computed, which the reader checks.
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


# ---------------------------------------------------------------- path forms and refusals
def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        'layer_1/conv_1/kernel': rng.standard_normal((3, 3, 3, 16)).astype(np.float32),
        'layer_1/conv_1/bias': rng.standard_normal(16).astype(np.float32),
        'layer_1/bn_1/moving_variance': rng.random(16).astype(np.float32),
        'layer_10/conv_10/kernel': rng.standard_normal((3, 3, 16, 16)).astype(np.float32),
        'scalar': np.array(2.5, dtype=np.float64),
        'global_step': np.array(1234, dtype=np.int64),
        'flags': np.array([True, False]),
    }


def check_equal(got, expected):
    assert list(got) == sorted(expected)  # TensorFlow's (sorted) order
    for name, value in expected.items():
        assert isinstance(got[name], torch.Tensor)
        assert got[name].numpy().dtype == value.dtype and got[name].shape == value.shape, name
        np.testing.assert_array_equal(got[name].numpy(), value)


@pytest.mark.parametrize('block_size', [1, 3, 100])
def test_reads_every_tensor_by_prefix_and_by_file(tmp_path, block_size):
    expected = arrays()
    index, data = write_tf_checkpoint(tmp_path / 'ckpt' / 'model', expected, block_size=block_size)
    for path in (tmp_path / 'ckpt' / 'model', index, data, tmp_path / 'ckpt'):
        assert is_tf_checkpoint(path)
        check_equal(read_tf_checkpoint(path), expected)
    assert checkpoint_prefix(index) == str(tmp_path / 'ckpt' / 'model')


def test_folder_follows_its_checkpoint_file(tmp_path):
    write_tf_checkpoint(tmp_path / 'epoch1', arrays(1))
    write_tf_checkpoint(tmp_path / 'epoch50', arrays(50))
    with pytest.raises(CheckpointConversionError, match='expected one TensorFlow checkpoint .* '
                                                        'found epoch1.index, epoch50.index'):
        read_tf_checkpoint(tmp_path)
    (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "epoch50"\n'
                                         'all_model_checkpoint_paths: "epoch1"\n')
    check_equal(read_tf_checkpoint(tmp_path), arrays(50))


def test_zip_archive_holding_one_checkpoint(tmp_path):
    expected = arrays()
    index, data = write_tf_checkpoint(tmp_path / 'model' / 'trained' / 'model', expected)
    archive = tmp_path / 'release.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('code/readme.txt', 'weights inside')
        z.write(index, 'code/model/trained/model.index')
        z.write(data, 'code/model/trained/model.data-00000-of-00001')
    assert is_tf_checkpoint(archive)
    check_equal(read_tf_checkpoint(archive), expected)
    check_equal(read_checkpoint_file(archive), expected)  # the converters' reader dispatches
    with zipfile.ZipFile(archive, 'a') as z:
        z.write(index, 'code/other.index')
    with pytest.raises(CheckpointConversionError, match='holds 2 TensorFlow checkpoints'):
        read_tf_checkpoint(archive)


def test_zip_archive_follows_its_checkpoint_file_and_may_have_any_name(tmp_path):
    """A zipped training folder (several checkpoints and TensorFlow's ``checkpoint`` file, whose
    path was written on the training machine), cached under another name as the zoo does."""
    for epoch in (30, 50):
        write_tf_checkpoint(tmp_path / 'MSPFN' / f'epoch{epoch}', arrays(epoch))
    archive = tmp_path / 'mspfn_m17n1_rain13k.pth'
    with zipfile.ZipFile(archive, 'w') as z:
        for path in sorted((tmp_path / 'MSPFN').iterdir()):
            z.write(path, f'MSPFN/{path.name}')
    with pytest.raises(CheckpointConversionError,
                       match=r'holds 2 TensorFlow checkpoints \(MSPFN/epoch30.index, '
                             r'MSPFN/epoch50.index\) and no checkpoint file naming one'):
        read_checkpoint_file(archive)
    with zipfile.ZipFile(archive, 'a') as z:
        z.writestr('MSPFN/checkpoint', 'model_checkpoint_path: "/home/user/MSPFN/epoch30"\n')
    assert is_tf_checkpoint(archive)
    check_equal(read_checkpoint_file(archive), arrays(30))


def test_folder_checkpoint_file_with_a_path_of_another_machine(tmp_path):
    write_tf_checkpoint(tmp_path / 'epoch1', arrays(1))
    write_tf_checkpoint(tmp_path / 'epoch2', arrays(2))
    (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "/elsewhere/run/epoch2"\n')
    assert checkpoint_prefix(tmp_path) == str(tmp_path / 'epoch2')
    check_equal(read_checkpoint_file(tmp_path), arrays(2))
    (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "epoch9"\n')
    with pytest.raises(CheckpointConversionError,
                       match=r"its checkpoint file names 'epoch9', which is not there"):
        read_tf_checkpoint(tmp_path)


def test_torch_files_are_not_taken_for_tensorflow_ones(tmp_path):
    path = tmp_path / 'net.pth'
    torch.save({'w': torch.ones(2)}, path)  # also a zip archive
    assert not is_tf_checkpoint(path)
    assert torch.equal(read_checkpoint_file(path)['w'], torch.ones(2))


def test_string_tensors_are_skipped(tmp_path):
    expected = arrays()
    write_tf_checkpoint(tmp_path / 'model', expected, strings=('_CHECKPOINTABLE_OBJECT_GRAPH',))
    check_equal(read_tf_checkpoint(tmp_path / 'model'), expected)


@pytest.mark.parametrize('damage, message', [
    ('truncated index', 'not a TensorFlow checkpoint index'),
    ('flipped index byte', 'a table block fails its CRC-32C check: the .index file is damaged'),
    ('sliced', "variable 'layer_1/conv_1/bias' is partitioned"),
    ('big endian', 'a big-endian TensorFlow checkpoint'),
])
def test_damaged_or_unsupported_files_are_refused_clearly(tmp_path, damage, message):
    prefix = tmp_path / 'model'
    index, _ = write_tf_checkpoint(prefix, arrays(), big_endian=damage == 'big endian',
                                   sliced=('layer_1/conv_1/bias',) if damage == 'sliced' else ())
    if damage == 'truncated index':
        index.write_bytes(index.read_bytes()[:-20])
    elif damage == 'flipped index byte':
        blob = bytearray(index.read_bytes())
        blob[20] ^= 0x01  # inside the first data block
        index.write_bytes(bytes(blob))
    with pytest.raises(CheckpointConversionError, match=message):
        read_tf_checkpoint(prefix)


def test_compressed_tables_are_refused(tmp_path):
    index, _ = write_tf_checkpoint(tmp_path / 'model', arrays())
    blob = writer.table([(b'', b''), (b'a', writer.entry_proto(1, (), 0, 4))], compression=1)
    index.write_bytes(blob)
    with pytest.raises(CheckpointConversionError, match=r'compressed \(type 1\)'):
        read_tf_checkpoint(tmp_path / 'model')


def test_crc32c_check_values():
    assert crc32c(b'123456789') == 0xE3069283  # the CRC-32C check value
    assert crc32c(b'') == 0
    assert masked_crc32c(b'') == 0xA282EAD8  # LevelDB's mask of a zero CRC
