"""Reading TensorFlow checkpoints without TensorFlow.

A TensorFlow checkpoint written by ``tf.train.Saver`` (TF >= 1.0) or ``tf.train.Checkpoint``
is a *tensor bundle*: ``<prefix>.index``, a sorted table of ``name -> BundleEntryProto``
(LevelDB's SSTable layout, uncompressed), and ``<prefix>.data-<shard>-of-<shards>``, the
tensors' bytes one after the other. This module reads both with the standard library and
numpy, so that the converters of TensorFlow releases (DDN, MSPFN) read the files their users
have and restorelab does not depend on TensorFlow.

What is read: numeric tensors (float, double, int, bool, half) in little-endian bundles.
String tensors (the object graph of ``tf.train.Checkpoint``) are skipped. Refused with a clear
error: compressed tables, big-endian bundles, partitioned (sliced) variables, index blocks
whose CRC32C does not match, and entries whose byte size does not match their shape. The
tensors' own CRC32Cs are not verified (pure Python would take minutes on a large file); their
sizes, shapes and offsets are.

Paths accepted by :func:`read_tf_checkpoint`: the prefix (``model/epoch50``), its ``.index``
or one of its ``.data-*`` files, a folder holding one checkpoint (or a TensorFlow ``checkpoint``
file naming the latest), or a ``.zip`` holding exactly one checkpoint (e.g. a release archive).
"""
import re
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from restorelab.utils.errors import CheckpointConversionError

TABLE_MAGIC = 0xdb4775248b80fb57  # LevelDB's kTableMagicNumber, the index's last 8 bytes
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the magic
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c
NO_COMPRESSION = 0
# tensorflow/core/framework/types.proto -> numpy little-endian dtypes.
NUMPY_DTYPES = {1: '<f4', 2: '<f8', 3: '<i4', 4: 'u1', 5: '<i2', 6: 'i1', 9: '<i8', 10: '?',
                17: '<u2', 19: '<f2', 22: '<u4', 23: '<u8'}
DT_STRING = 7
_DATA_SUFFIX = re.compile(r'\.data-\d{5}-of-\d{5}$')


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli) of ``data``, as LevelDB tables checksum their blocks."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """LevelDB's stored form of a CRC-32C (rotated and offset)."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(buf, pos):
    """Decode a base-128 varint at ``buf[pos:]``; returns ``(value, next position)``."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError('truncated varint')
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError('varint longer than 64 bits')


def _proto_fields(buf):
    """The ``(field number, value)`` pairs of a serialized protobuf message: ints for varint
    and fixed fields, bytes for length-delimited ones (nested messages, strings)."""
    pos, fields = 0, []
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from('<Q', buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire == 5:
            value, pos = struct.unpack_from('<I', buf, pos)[0], pos + 4
        else:
            raise ValueError(f'unsupported protobuf wire type {wire}')
        fields.append((number, value))
    if pos != len(buf):
        raise ValueError('truncated protobuf message')
    return fields


def _block(index_bytes, offset, size, source):
    """The contents of the table block at ``offset`` (checked to be uncompressed)."""
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(index_bytes):
        raise CheckpointConversionError(f'{source}: a table block runs past the end of the file '
                                        '(truncated .index file?)')
    compression = index_bytes[end]
    if compression != NO_COMPRESSION:
        raise CheckpointConversionError(
            f'{source}: the index table is compressed (type {compression}); TensorFlow writes '
            'checkpoint indexes uncompressed, and restorelab reads only those')
    stored = struct.unpack_from('<I', index_bytes, end + 1)[0]
    if masked_crc32c(index_bytes[offset:end + 1]) != stored:
        raise CheckpointConversionError(f'{source}: a table block fails its checksum: the .index '
                                        'file is damaged')
    return index_bytes[offset:end]


def _block_entries(block):
    """``[(key, value)]`` of one table block (keys are prefix-compressed)."""
    if len(block) < 4:
        raise ValueError('block shorter than its restart count')
    num_restarts = struct.unpack_from('<I', block, len(block) - 4)[0]
    limit = len(block) - 4 * (num_restarts + 1)
    if limit < 0:
        raise ValueError('bad restart count')
    pos, key, entries = 0, b'', []
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_length, pos = _varint(block, pos)
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        entries.append((key, bytes(block[pos:pos + value_length])))
        pos += value_length
    return entries


def _handle(buf, pos=0):
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (offset, size), pos


def read_index(index_bytes, source='checkpoint'):
    """``(header fields, {tensor name: entry fields})`` of a bundle's ``.index`` contents."""
    if len(index_bytes) < FOOTER_SIZE:
        raise CheckpointConversionError(f'{source}: {len(index_bytes)} bytes, too short for a '
                                        'TensorFlow checkpoint index')
    footer = index_bytes[-FOOTER_SIZE:]
    if struct.unpack_from('<Q', footer, 40)[0] != TABLE_MAGIC:
        raise CheckpointConversionError(
            f'{source}: not a TensorFlow checkpoint index (no table magic number at its end)')
    try:
        _, pos = _handle(footer)  # the meta-index block: empty in checkpoints
        (index_offset, index_size), _ = _handle(footer, pos)
        header, entries = None, OrderedDict()
        for _, value in _block_entries(_block(index_bytes, index_offset, index_size, source)):
            (offset, size), _ = _handle(value)
            for key, entry in _block_entries(_block(index_bytes, offset, size, source)):
                if key == b'':
                    header = dict(_proto_fields(entry))
                else:
                    entries[key.decode('utf-8')] = _proto_fields(entry)
    except (ValueError, struct.error, UnicodeDecodeError) as err:
        raise CheckpointConversionError(f'{source}: damaged TensorFlow checkpoint index ({err})') \
            from None
    if header is None:
        raise CheckpointConversionError(f'{source}: no bundle header: not a TensorFlow checkpoint')
    return header, entries


def _shape(shape_proto):
    dims = []
    for number, value in _proto_fields(shape_proto):
        if number == 2:  # repeated Dim {int64 size = 1; string name = 2}
            dims.append(dict(_proto_fields(value)).get(1, 0))
        elif number == 3 and value:
            raise ValueError('unknown rank')
    return tuple(dims)


def tensors_from_bundle(index_bytes, read_shard, source='checkpoint'):
    """``OrderedDict(name -> numpy array)`` of a bundle, sorted by name as TensorFlow stores
    them. ``read_shard(shard_id, num_shards)`` returns the bytes of that data file."""
    header, entries = read_index(index_bytes, source)
    num_shards = header.get(1, 1)
    if header.get(2, 0) != 0:
        raise CheckpointConversionError(f'{source}: a big-endian TensorFlow checkpoint; '
                                        'restorelab reads little-endian ones')
    shards, tensors = {}, OrderedDict()
    for name, fields in entries.items():
        entry = {}
        for number, value in fields:
            entry.setdefault(number, value)
        dtype = entry.get(1, 0)
        if 7 in entry:
            raise CheckpointConversionError(
                f'{source}: variable {name!r} is partitioned (saved in slices); restorelab reads '
                'unpartitioned variables only')
        if dtype == DT_STRING:
            continue  # e.g. _CHECKPOINTABLE_OBJECT_GRAPH of tf.train.Checkpoint
        if dtype not in NUMPY_DTYPES:
            raise CheckpointConversionError(
                f'{source}: variable {name!r} has TensorFlow dtype enum {dtype}, which restorelab '
                'does not read')
        try:
            shape = _shape(entry.get(2, b''))
        except (ValueError, struct.error) as err:
            raise CheckpointConversionError(f'{source}: variable {name!r}: bad shape ({err})') \
                from None
        shard, offset, size = entry.get(3, 0), entry.get(4, 0), entry.get(5, 0)
        itemsize = np.dtype(NUMPY_DTYPES[dtype]).itemsize
        if size != int(np.prod(shape, dtype=np.int64)) * itemsize:
            raise CheckpointConversionError(
                f'{source}: variable {name!r}: {size} bytes stored for shape {shape} of '
                f'{itemsize}-byte values')
        if shard not in shards:
            shards[shard] = read_shard(shard, num_shards)
        data = shards[shard]
        if offset + size > len(data):
            raise CheckpointConversionError(
                f'{source}: variable {name!r} lies past the end of data shard {shard} '
                f'({offset + size} > {len(data)} bytes): truncated .data file?')
        tensors[name] = np.frombuffer(data, NUMPY_DTYPES[dtype], count=size // itemsize,
                                      offset=offset).reshape(shape).copy()
    return tensors


def _data_name(prefix, shard, num_shards):
    return f'{prefix}.data-{shard:05d}-of-{num_shards:05d}'


def _prefix_in_folder(folder):
    """The checkpoint prefix in ``folder``: the ``checkpoint`` file's model_checkpoint_path,
    else the only ``*.index`` there."""
    state = folder / 'checkpoint'
    if state.is_file():
        match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', state.read_text(errors='replace'),
                          re.M)
        if match:
            path = Path(match.group(1))
            return path if path.is_absolute() else folder / path
    indexes = sorted(folder.glob('*.index'))
    if len(indexes) != 1:
        found = ', '.join(p.name for p in indexes) or 'none'
        raise CheckpointConversionError(
            f'{folder}: expected one TensorFlow checkpoint (a <prefix>.index file) in the folder, '
            f'found {found}; pass the prefix or the .index file of the one to convert')
    return indexes[0].with_suffix('')


def _prefix_of(path):
    """The prefix of the TensorFlow checkpoint that ``path`` names, or ``None`` when ``path``
    names none (e.g. a torch file or a .zip archive)."""
    path = Path(path)
    if path.is_dir():
        if (path / 'checkpoint').is_file() or any(path.glob('*.index')):
            return _prefix_in_folder(path)
        return None
    if path.suffix == '.index' and path.is_file():
        return path.with_suffix('')
    if _DATA_SUFFIX.search(path.name) and path.is_file():
        return path.with_name(_DATA_SUFFIX.sub('', path.name))
    if Path(f'{path}.index').is_file():
        return path
    return None


def _zip_checkpoint(path):
    """The ``.index`` member of the one checkpoint in zip ``path``, or ``None`` when it holds
    no checkpoint (a torch file is also a zip archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    indexes = [n for n in names if n.endswith('.index') and not n.startswith('__MACOSX/')]
    if not indexes:
        return None
    if len(indexes) > 1:
        raise CheckpointConversionError(
            f'{path}: the archive holds {len(indexes)} TensorFlow checkpoints '
            f'({", ".join(indexes)}); extract the one to convert and pass its .index file')
    return indexes[0]


def checkpoint_prefix(path):
    """The checkpoint prefix (``.../model``) that ``path`` names, as a string; ``path`` itself
    when it names no checkpoint file or folder (e.g. a .zip archive)."""
    prefix = _prefix_of(path)
    return str(prefix if prefix is not None else path)


def is_tf_checkpoint(path):
    """Whether ``path`` names a TensorFlow checkpoint (prefix, .index, .data-*, folder or a
    .zip holding one)."""
    path = Path(path)
    if _prefix_of(path) is not None:
        return True
    return path.is_file() and zipfile.is_zipfile(path) and _zip_checkpoint(path) is not None


def read_tf_checkpoint(path):
    """``OrderedDict(variable name -> tensor)`` of the TensorFlow checkpoint ``path`` names
    (see the module doc for the accepted forms), in the index's (sorted) order. Tensors keep
    TensorFlow's layout (a conv kernel is ``(kh, kw, in, out)``)."""
    return OrderedDict((name, torch.from_numpy(array))
                       for name, array in read_tf_arrays(path).items())


def read_tf_arrays(path):
    """:func:`read_tf_checkpoint` as numpy arrays."""
    path = Path(path)
    prefix = _prefix_of(path)
    if prefix is not None:
        index = Path(f'{prefix}.index')
        if not index.is_file():
            raise CheckpointConversionError(f'{path}: TensorFlow checkpoint index {index} not found')

        def read_shard(shard, num_shards):
            data = Path(_data_name(prefix, shard, num_shards))
            if not data.is_file():
                raise CheckpointConversionError(
                    f'{index}: its data file {data.name} is missing beside it; a TensorFlow '
                    'checkpoint is the .index file and its .data-* files')
            return data.read_bytes()

        return tensors_from_bundle(index.read_bytes(), read_shard, source=str(index))
    member = _zip_checkpoint(path) if path.is_file() else None
    if member is None:
        raise CheckpointConversionError(f'{path}: not a TensorFlow checkpoint')
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        member_prefix = member[:-len('.index')]

        def read_zip_shard(shard, num_shards):
            name = _data_name(member_prefix, shard, num_shards)
            if name not in names:
                raise CheckpointConversionError(f'{path}: {name} is missing from the archive')
            return archive.read(name)

        return tensors_from_bundle(archive.read(member), read_zip_shard,
                                   source=f'{path}:{member}')

