"""restorelab.models.converters.tf_checkpoint: TensorFlow checkpoints read without TensorFlow
(the bundles are written by tests/fixtures/tf_bundle.py from the format's description)."""
import zipfile

import numpy as np
import pytest
import torch

from restorelab.models.converters import read_checkpoint_file
from restorelab.models.converters.tf_checkpoint import (checkpoint_prefix, crc32c,
                                                         is_tf_checkpoint, masked_crc32c,
                                                         read_tf_checkpoint)
from restorelab.utils.errors import CheckpointConversionError
from tests.fixtures.tf_bundle import write_bundle


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
    index, data = write_bundle(tmp_path / 'ckpt' / 'model', expected, block_size=block_size)
    for path in (tmp_path / 'ckpt' / 'model', index, data, tmp_path / 'ckpt'):
        assert is_tf_checkpoint(path)
        check_equal(read_tf_checkpoint(path), expected)
    assert checkpoint_prefix(index) == str(tmp_path / 'ckpt' / 'model')


def test_folder_follows_its_checkpoint_file(tmp_path):
    write_bundle(tmp_path / 'epoch1', arrays(1))
    write_bundle(tmp_path / 'epoch50', arrays(50))
    with pytest.raises(CheckpointConversionError, match='expected one TensorFlow checkpoint .* '
                                                        'found epoch1.index, epoch50.index'):
        read_tf_checkpoint(tmp_path)
    (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "epoch50"\n'
                                         'all_model_checkpoint_paths: "epoch1"\n')
    check_equal(read_tf_checkpoint(tmp_path), arrays(50))


def test_zip_archive_holding_one_checkpoint(tmp_path):
    expected = arrays()
    index, data = write_bundle(tmp_path / 'model' / 'trained' / 'model', expected)
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


def test_torch_files_are_not_taken_for_tensorflow_ones(tmp_path):
    path = tmp_path / 'net.pth'
    torch.save({'w': torch.ones(2)}, path)  # also a zip archive
    assert not is_tf_checkpoint(path)
    assert torch.equal(read_checkpoint_file(path)['w'], torch.ones(2))


def test_string_tensors_are_skipped(tmp_path):
    expected = arrays()
    write_bundle(tmp_path / 'model', expected, strings=('_CHECKPOINTABLE_OBJECT_GRAPH',))
    check_equal(read_tf_checkpoint(tmp_path / 'model'), expected)


@pytest.mark.parametrize('damage, message', [
    ('missing data', 'data file model.data-00000-of-00001 is missing beside it'),
    ('short data', "variable 'scalar' lies past the end of data shard 0"),
    ('no magic', 'not a TensorFlow checkpoint index'),
    ('truncated index', 'not a TensorFlow checkpoint index'),
    ('flipped index byte', 'a table block fails its checksum'),
    ('sliced', "variable 'layer_1/conv_1/bias' is partitioned"),
    ('big endian', 'a big-endian TensorFlow checkpoint'),
])
def test_damaged_or_unsupported_files_are_refused_clearly(tmp_path, damage, message):
    prefix = tmp_path / 'model'
    index, data = write_bundle(prefix, arrays(), sliced=('layer_1/conv_1/bias',) if damage == 'sliced'
                               else (), big_endian=damage == 'big endian')
    if damage == 'missing data':
        data.unlink()
    elif damage == 'short data':
        data.write_bytes(data.read_bytes()[:-4])
    elif damage == 'no magic':
        index.write_bytes(index.read_bytes()[:-8] + b'\0' * 8)
    elif damage == 'truncated index':
        index.write_bytes(index.read_bytes()[:-20])
    elif damage == 'flipped index byte':
        blob = bytearray(index.read_bytes())
        blob[20] ^= 0x01  # inside the first data block
        index.write_bytes(bytes(blob))
    with pytest.raises(CheckpointConversionError, match=message):
        read_tf_checkpoint(prefix)


def test_compressed_tables_are_refused(tmp_path):
    from tests.fixtures import tf_bundle
    index, _ = write_bundle(tmp_path / 'model', arrays())
    blob = tf_bundle.table([(b'', b''), (b'a', tf_bundle.entry_proto(1, (), 0, 4))], compression=1)
    index.write_bytes(blob)
    with pytest.raises(CheckpointConversionError, match=r'compressed \(type 1\)'):
        read_tf_checkpoint(tmp_path / 'model')


def test_crc32c_check_values():
    assert crc32c(b'123456789') == 0xE3069283  # the CRC-32C check value
    assert crc32c(b'') == 0
    assert masked_crc32c(b'') == 0xA282EAD8  # LevelDB's mask of a zero CRC
