"""Reading a TensorFlow checkpoint (``tf.train.Saver`` V2: ``<prefix>.index`` +
``<prefix>.data-00000-of-00001``) without TensorFlow.

TensorFlow releases (DualGCN's ``TrainedModel/model-<set>``) ship their weights in this
format. Its two files are simple enough to read directly:

- ``.index`` is an SSTable (the LevelDB table format): data blocks of prefix-compressed
  ``key -> value`` entries, an index block pointing at them, and a 48-byte footer ending in
  a magic number. The key ``''`` holds a ``BundleHeaderProto``; every other key is a
  variable's name and its value a ``BundleEntryProto`` (dtype, shape, shard, offset, size,
  crc32c).
- ``.data-<shard>-of-<n>`` holds each tensor's raw little-endian bytes at the offset the
  index gives.

Only what a ``Saver`` writes for dense float/int variables is supported; partitioned
(sliced) variables, strings and compressed tables are refused with a clear error. The
crc32c of each tensor is not recomputed (it would need a crc32c implementation); the sizes
and offsets are checked against the data file instead.
"""
import re
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from restorelab.utils.errors import CheckpointConversionError

_TABLE_MAGIC = 0xdb4775248b80fb57
_FOOTER_SIZE = 48
_BLOCK_TRAILER = 5  # compression type byte + crc32 of the block
# TensorFlow DataType enum -> numpy dtype (little-endian), the types a Saver writes for
# dense numeric variables.
_DTYPES = {1: '<f4', 2: '<f8', 3: '<i4', 4: '<u1', 5: '<i2', 6: '<i1', 9: '<i8', 10: '?',
           14: '<u2', 17: '<u2', 19: '<f2', 22: '<u4', 23: '<u8'}
_DATA_SUFFIX = re.compile(r'\.data-(\d{5})-of-(\d{5})$')


def _ends_with_table_magic(path):
    try:
        with open(path, 'rb') as f:
            f.seek(0, 2)
            if f.tell() < _FOOTER_SIZE:
                return False
            f.seek(-8, 2)
            return struct.unpack('<Q', f.read(8))[0] == _TABLE_MAGIC
    except OSError:
        return False


def is_tf_checkpoint(path):
    """Whether ``path`` names a TensorFlow V2 checkpoint: its ``.index`` file, one of its
    ``.data-*`` shards, the prefix beside which ``<prefix>.index`` exists, or an index file
    under another name (recognised by its content: a cache may store ``model.index`` as
    ``<name>.pth``, its shard as ``<name>.data-00000-of-00001``)."""
    path = Path(path)
    text = str(path)
    if text.endswith('.index') or _DATA_SUFFIX.search(text):
        return True
    if not path.exists():
        return Path(text + '.index').is_file()
    return path.is_file() and _ends_with_table_magic(path)


def checkpoint_prefix(path):
    """The checkpoint prefix (``.../model-Rain200H``) of any of its files or itself: the
    name without ``.index`` or ``.data-*``; an index file under another name (``x.pth``)
    loses its last suffix."""
    text = str(path)
    if text.endswith('.index'):
        return text[:-len('.index')]
    match = _DATA_SUFFIX.search(text)
    if match:
        return text[:match.start()]
    path = Path(text)
    if path.suffix and path.is_file() and _ends_with_table_magic(path):
        return str(path.with_suffix(''))
    return text


def _index_file(path):
    """The index file of the checkpoint ``path`` names."""
    path = Path(path)
    if path.is_file() and not _DATA_SUFFIX.search(str(path)) and _ends_with_table_magic(path):
        return path
    return Path(checkpoint_prefix(path) + '.index')


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError('truncated varint')
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7f) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _protobuf_fields(buf):
    """``[(field number, value)]`` of a protobuf message: ints for varint fields, bytes for
    length-delimited ones, ints for fixed32/fixed64."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire == 5:
            value, pos = struct.unpack_from('<I', buf, pos)[0], pos + 4
        elif wire == 1:
            value, pos = struct.unpack_from('<Q', buf, pos)[0], pos + 8
        else:
            raise ValueError(f'unsupported protobuf wire type {wire}')
        fields.append((number, value))
    return fields


def _block_entries(data, offset, size, source):
    """The ``(key, value)`` entries of the table block at ``offset`` (``size`` bytes)."""
    if data[offset + size] != 0:
        raise CheckpointConversionError(
            f'{source}: a block is compressed (type {data[offset + size]}); only uncompressed '
            'tables (what tf.train.Saver writes) are supported')
    block = data[offset:offset + size]
    num_restarts = struct.unpack_from('<I', block, size - 4)[0]
    end = size - 4 - 4 * num_restarts
    entries, pos, key = [], 0, b''
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        entries.append((key, bytes(block[pos:pos + value_len])))
        pos += value_len
    return entries


def _read_index(index_path):
    """``{name: BundleEntryProto fields}`` of an ``.index`` file, in the file's (sorted)
    order, and the header's number of shards."""
    data = Path(index_path).read_bytes()
    source = str(index_path)
    if len(data) < _FOOTER_SIZE or struct.unpack_from('<Q', data, len(data) - 8)[0] != _TABLE_MAGIC:
        raise CheckpointConversionError(
            f'{source}: not a TensorFlow checkpoint index (no table magic number at its end); '
            'expected the <prefix>.index file that tf.train.Saver writes')
    try:
        footer = data[-_FOOTER_SIZE:]
        _, pos = _varint(footer, 0)  # metaindex handle: offset
        _, pos = _varint(footer, pos)  # and size
        index_offset, pos = _varint(footer, pos)
        index_size, pos = _varint(footer, pos)
        entries = []
        for _, handle in _block_entries(data, index_offset, index_size, source):
            offset, pos = _varint(handle, 0)
            size, _ = _varint(handle, pos)
            entries.extend(_block_entries(data, offset, size, source))
        header = dict(_protobuf_fields(entries[0][1])) if entries and entries[0][0] == b'' else {}
        tensors = OrderedDict()
        for key, value in entries:
            if key == b'':
                continue
            fields = _protobuf_fields(value)
            entry = dict(dtype=1, shape=(), shard_id=0, offset=0, size=0, sliced=False)
            for number, field in fields:
                if number == 1:
                    entry['dtype'] = field
                elif number == 2:
                    dims = [dict(_protobuf_fields(dim)).get(1, 0)
                            for n, dim in _protobuf_fields(field) if n == 2]
                    entry['shape'] = tuple(dims)
                elif number == 3:
                    entry['shard_id'] = field
                elif number == 4:
                    entry['offset'] = field
                elif number == 5:
                    entry['size'] = field
                elif number == 7:
                    entry['sliced'] = True
            tensors[key.decode('utf-8')] = entry
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as err:
        raise CheckpointConversionError(
            f'{source}: damaged TensorFlow checkpoint index ({err})') from None
    return tensors, header.get(1, 1)


def read_tf_checkpoint(path):
    """``{variable name: tensor}`` of a TensorFlow V2 checkpoint, in the index's (sorted)
    order. ``path`` is the prefix or any of its files; every shard must lie beside the
    index. Tensors keep TensorFlow's layout (a conv kernel is ``(kh, kw, in, out)``)."""
    prefix = checkpoint_prefix(path)
    index = _index_file(path)
    if not index.is_file():
        raise CheckpointConversionError(
            f'TensorFlow checkpoint index not found: {index} (a checkpoint is the pair '
            '<prefix>.index and <prefix>.data-00000-of-00001; give either file or the prefix)')
    entries, num_shards = _read_index(index)
    shards = {}
    state_dict = OrderedDict()
    for name, entry in entries.items():
        if entry['sliced']:
            raise CheckpointConversionError(
                f'{index}: variable {name!r} is partitioned (sliced); not supported')
        if entry['dtype'] not in _DTYPES:
            raise CheckpointConversionError(
                f'{index}: variable {name!r} has TensorFlow dtype {entry["dtype"]}, not a '
                'numeric type this reader supports')
        shard = entry['shard_id']
        if shard not in shards:
            data_path = Path(f'{prefix}.data-{shard:05d}-of-{num_shards:05d}')
            if not data_path.is_file():
                raise CheckpointConversionError(
                    f'TensorFlow checkpoint data file not found: {data_path} (it must lie '
                    f'beside {index.name})')
            shards[shard] = (data_path, data_path.read_bytes())
        data_path, data = shards[shard]
        dtype = np.dtype(_DTYPES[entry['dtype']])
        count = int(np.prod(entry['shape'], dtype=np.int64))
        if entry['size'] != count * dtype.itemsize or entry['offset'] + entry['size'] > len(data):
            raise CheckpointConversionError(
                f'{data_path}: variable {name!r} of shape {entry["shape"]} needs bytes '
                f'{entry["offset"]}..{entry["offset"] + count * dtype.itemsize} but the index '
                f'says {entry["size"]} and the file has {len(data)}: a truncated or foreign '
                'data file')
        array = np.frombuffer(data, dtype=dtype, count=count, offset=entry['offset'])
        state_dict[name] = torch.from_numpy(array.reshape(entry['shape']).copy())
    return state_dict
