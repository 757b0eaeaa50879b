"""Reading a TensorFlow checkpoint (``tf.train.Saver`` V2: ``<prefix>.index`` +
``<prefix>.data-00000-of-00001``) without TensorFlow.

TensorFlow releases (DDN's ``model/trained/model``, MSPFN's ``MSPFN/epoch50``, DualGCN's
``TrainedModel/model-<set>``) ship their weights in this format. Its two files are simple
enough to read directly:

- ``.index`` is an SSTable (the LevelDB table format): data blocks of prefix-compressed
  ``key -> value`` entries, each followed by its compression type and masked CRC-32C, an index
  block pointing at them, and a 48-byte footer ending in a magic number. The key ``''`` holds a
  ``BundleHeaderProto``; every other key is a variable's name and its value a
  ``BundleEntryProto`` (dtype, shape, shard, offset, size, crc32c).
- ``.data-<shard>-of-<n>`` holds each tensor's raw little-endian bytes at the offset the
  index gives.

Every block of the index is checked against its CRC-32C (a damaged ``.index`` is refused).
The tensors' own CRC-32Cs are not recomputed (pure Python would take seconds per ten
megabytes); their sizes and offsets are checked against the data file instead. Only what a
``Saver`` writes for dense numeric variables is read: string tensors (the object graph of
``tf.train.Checkpoint``) are skipped; partitioned (sliced) variables, other dtypes, big-endian
bundles and compressed tables are refused with a clear error.

A checkpoint is named by (:func:`read_tf_checkpoint`): its prefix, its ``.index`` or one of its
``.data-*`` files, an index file under another name (recognised by its content: the zoo's cache
stores ``model.index`` as ``<name>.pth``, its shard as ``<name>.data-00000-of-00001``), a folder
holding it (the one ``*.index`` there, or the one its TensorFlow ``checkpoint`` file names), or
a ``.zip`` archive holding it (a release's archive, under any file name; again the one
``*.index`` inside, or the one a ``checkpoint`` file beside the indexes names).
"""
import re
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from restorelab.utils.errors import CheckpointConversionError

_TABLE_MAGIC = 0xdb4775248b80fb57  # LevelDB's kTableMagicNumber: the index's last 8 bytes
_FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the magic
_BLOCK_TRAILER = 5  # compression type byte + masked crc32c of the block and that byte
# TensorFlow DataType enum -> numpy dtype (little-endian), the types a Saver writes for
# dense numeric variables.
_DTYPES = {1: '<f4', 2: '<f8', 3: '<i4', 4: '<u1', 5: '<i2', 6: '<i1', 9: '<i8', 10: '?',
           14: '<u2', 17: '<u2', 19: '<f2', 22: '<u4', 23: '<u8'}
_DT_STRING = 7
_DATA_SUFFIX = re.compile(r'\.data-(\d{5})-of-(\d{5})$')
_STATE_FILE = 'checkpoint'  # what tf.train.Saver writes beside its checkpoints
_LATEST = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"', re.M)


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
    """CRC-32C (Castagnoli) of ``data``, the checksum of LevelDB tables."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """The form in which LevelDB (and TensorFlow's bundles) store a CRC-32C: rotated right by 15
    bits and offset, so that a CRC of data holding CRCs is not degenerate."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


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


def _latest_in_state_file(text):
    """The ``model_checkpoint_path`` a TensorFlow ``checkpoint`` file names, or None."""
    match = _LATEST.search(text)
    return match.group(1) if match else None


def _prefix_in_folder(folder):
    """The checkpoint prefix in ``folder``: the one its ``checkpoint`` file names, else the
    only ``*.index`` there."""
    indexes = sorted(folder.glob('*.index'))
    state = folder / _STATE_FILE
    latest = _latest_in_state_file(state.read_text(errors='replace')) if state.is_file() else None
    if latest is not None:
        named = Path(latest) if Path(latest).is_absolute() else folder / latest
        # An absolute path written on the training machine: look for its name in this folder.
        for candidate in (named, folder / named.name):
            if Path(f'{candidate}.index').is_file():
                return str(candidate)
    if len(indexes) != 1:
        found = ', '.join(p.name for p in indexes) or 'none'
        note = f' (its checkpoint file names {latest!r}, which is not there)' if latest else ''
        raise CheckpointConversionError(
            f'{folder}: expected one TensorFlow checkpoint (a <prefix>.index file) in the folder, '
            f'found {found}{note}; pass the prefix or the .index file of the one to convert')
    return str(indexes[0].with_suffix(''))


def _zip_index_member(path):
    """The ``.index`` member of the one checkpoint in the zip archive ``path`` (the one a
    ``checkpoint`` member beside several names), or None when ``path`` is no zip archive or
    holds no checkpoint (a torch file is a zip archive too)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            indexes = [n for n in names if n.endswith('.index') and not n.startswith('__MACOSX/')]
            if len(indexes) <= 1:
                return indexes[0] if indexes else None
            folders = {str(PurePosixPath(n).parent) for n in indexes}
            for folder in sorted(folders):
                state = f'{folder}/{_STATE_FILE}' if folder != '.' else _STATE_FILE
                if state in names:
                    latest = _latest_in_state_file(archive.read(state).decode('utf-8', 'replace'))
                    if latest is not None:
                        member = str(PurePosixPath(folder) / PurePosixPath(latest).name) + '.index'
                        if member in indexes:
                            return member
    except (zipfile.BadZipFile, OSError):
        return None
    raise CheckpointConversionError(
        f'{path}: the archive holds {len(indexes)} TensorFlow checkpoints ({", ".join(indexes)}) '
        'and no checkpoint file naming one of them; extract the one to convert and pass its '
        '.index file')


def _is_zip_checkpoint(path):
    path = Path(path)
    return (path.is_file() and not _ends_with_table_magic(path) and zipfile.is_zipfile(path)
            and _zip_index_member(path) is not None)


def is_tf_checkpoint(path):
    """Whether ``path`` names a TensorFlow V2 checkpoint: its ``.index`` file, one of its
    ``.data-*`` shards, the prefix beside which ``<prefix>.index`` exists, an index file under
    another name (recognised by its content), a folder holding one or a zip archive holding
    one."""
    path = Path(path)
    text = str(path)
    if text.endswith('.index') or _DATA_SUFFIX.search(text):
        return True
    if not path.exists():
        return Path(text + '.index').is_file()
    if path.is_dir():
        return (path / _STATE_FILE).is_file() or any(path.glob('*.index'))
    return _ends_with_table_magic(path) or _is_zip_checkpoint(path)


def checkpoint_prefix(path):
    """The checkpoint prefix (``.../model-Rain200H``) of any of its files or itself: the
    name without ``.index`` or ``.data-*`` (from the name alone); an index file under another
    name (``x.pth``) loses its last suffix; a folder gives the prefix of the checkpoint in it.
    Anything else (e.g. a zip archive) is returned as it is."""
    text = str(path)
    if text.endswith('.index'):
        return text[:-len('.index')]
    match = _DATA_SUFFIX.search(text)
    if match:
        return text[:match.start()]
    path = Path(text)
    if path.is_dir():
        return _prefix_in_folder(path)
    if path.suffix and path.is_file() and _ends_with_table_magic(path):
        return str(path.with_suffix(''))
    return text


def _index_file(path):
    """The index file of the checkpoint ``path`` names (not a zip archive)."""
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
        if shift > 63:
            raise ValueError('varint longer than 64 bits')


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
            if pos + length > len(buf):
                raise ValueError('truncated protobuf field')
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
    """The ``(key, value)`` entries of the table block at ``offset`` (``size`` bytes), after
    checking its trailer: uncompressed, and its masked CRC-32C."""
    end = offset + size
    if end + _BLOCK_TRAILER > len(data):
        raise CheckpointConversionError(
            f'{source}: a table block runs past the end of the file (a truncated .index file)')
    if data[end] != 0:
        raise CheckpointConversionError(
            f'{source}: a block is compressed (type {data[end]}); only uncompressed '
            'tables (what tf.train.Saver writes) are supported')
    if masked_crc32c(data[offset:end + 1]) != struct.unpack_from('<I', data, end + 1)[0]:
        raise CheckpointConversionError(
            f'{source}: a table block fails its CRC-32C check: the .index file is damaged')
    block = data[offset:end]
    if size < 4:
        raise ValueError('block shorter than its restart count')
    num_restarts = struct.unpack_from('<I', block, size - 4)[0]
    limit = size - 4 - 4 * num_restarts
    if limit < 0:
        raise ValueError('bad restart count')
    entries, pos, key = [], 0, b''
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        entries.append((key, bytes(block[pos:pos + value_len])))
        pos += value_len
    return entries


def _read_index(data, source):
    """``{name: entry}`` of an ``.index`` file's contents ``data``, in the file's (sorted)
    order, and the header's number of shards."""
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
            entry = dict(dtype=1, shape=(), shard_id=0, offset=0, size=0, sliced=False)
            for number, field in _protobuf_fields(value):
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
    if header.get(2, 0) != 0:
        raise CheckpointConversionError(
            f'{source}: a big-endian TensorFlow checkpoint; restorelab reads little-endian ones')
    return tensors, header.get(1, 1)


def _tensors(index_data, index_source, read_shard):
    """``{name: tensor}`` of a bundle whose index holds ``index_data``; ``read_shard(shard,
    num_shards)`` returns ``(a name for messages, the bytes of that data file)``."""
    entries, num_shards = _read_index(index_data, index_source)
    shards = {}
    state_dict = OrderedDict()
    for name, entry in entries.items():
        if entry['sliced']:
            raise CheckpointConversionError(
                f'{index_source}: variable {name!r} is partitioned (sliced); not supported')
        if entry['dtype'] == _DT_STRING:
            continue  # e.g. tf.train.Checkpoint's _CHECKPOINTABLE_OBJECT_GRAPH: no weights
        if entry['dtype'] not in _DTYPES:
            raise CheckpointConversionError(
                f'{index_source}: variable {name!r} has TensorFlow dtype {entry["dtype"]}, not a '
                'numeric type this reader supports')
        shard = entry['shard_id']
        if shard not in shards:
            shards[shard] = read_shard(shard, num_shards)
        data_name, data = shards[shard]
        dtype = np.dtype(_DTYPES[entry['dtype']])
        count = int(np.prod(entry['shape'], dtype=np.int64))
        if entry['size'] != count * dtype.itemsize or entry['offset'] + entry['size'] > len(data):
            raise CheckpointConversionError(
                f'{data_name}: variable {name!r} of shape {entry["shape"]} needs bytes '
                f'{entry["offset"]}..{entry["offset"] + count * dtype.itemsize} but the index '
                f'says {entry["size"]} and the file has {len(data)}: a truncated or foreign '
                'data file')
        array = np.frombuffer(data, dtype=dtype, count=count, offset=entry['offset'])
        state_dict[name] = torch.from_numpy(array.reshape(entry['shape']).copy())
    return state_dict


def _read_zip(path):
    member = _zip_index_member(path)
    prefix = member[:-len('.index')]
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())

        def read_shard(shard, num_shards):
            name = f'{prefix}.data-{shard:05d}-of-{num_shards:05d}'
            if name not in names:
                raise CheckpointConversionError(
                    f'{path}: TensorFlow checkpoint data file {name} not found in the archive (it '
                    f'must lie beside {member})')
            return f'{path}:{name}', archive.read(name)

        return _tensors(archive.read(member), f'{path}:{member}', read_shard)


def read_tf_checkpoint(path):
    """``{variable name: tensor}`` of a TensorFlow V2 checkpoint, in the index's (sorted)
    order. ``path`` is the prefix, any of its files, a folder or a zip archive holding it (see
    the module doc); every shard must lie beside the index. Tensors keep TensorFlow's layout (a
    conv kernel is ``(kh, kw, in, out)``)."""
    if _is_zip_checkpoint(path):
        return _read_zip(path)
    prefix = checkpoint_prefix(path)
    index = _index_file(path)
    if not index.is_file():
        raise CheckpointConversionError(
            f'TensorFlow checkpoint index not found: {index} (a checkpoint is the pair '
            '<prefix>.index and <prefix>.data-00000-of-00001; give either file, the prefix, the '
            'folder holding them or a .zip archive holding them)')

    def read_shard(shard, num_shards):
        data_path = Path(f'{prefix}.data-{shard:05d}-of-{num_shards:05d}')
        if not data_path.is_file():
            raise CheckpointConversionError(
                f'TensorFlow checkpoint data file not found: {data_path} (it must lie '
                f'beside {index.name})')
        return data_path, data_path.read_bytes()

    return _tensors(index.read_bytes(), index, read_shard)
