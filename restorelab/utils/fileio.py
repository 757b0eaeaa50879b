"""Writing files so that a crash never leaves half of one: the one temporary-file-then-rename
helper (checkpoints, converted weights, images, JSON reports, downloads all use it), and JSON
with infinities (PSNR of identical images) as the strings ``"inf"``/``"-inf"``.

A file is first written to a temporary file in the destination folder, flushed to the disk
(``fsync``), then renamed over the destination (``os.replace``, atomic on POSIX within one
file system) and the folder entry is synced. A process killed at any moment therefore leaves
either the old file or the complete new one.
"""
import contextlib
import json
import math
import os
import os.path as osp
import tempfile

from .procfs import umask

#: Name prefix of the temporary files (a folder's leftovers can be found and removed).
TMP_PREFIX = '.tmp-'


def _default_mode():
    """The mode ``open(path, 'w')`` would give a new file now (0o666 minus the current umask);
    mkstemp creates 0o600. Read at every write: the umask may change while a process runs."""
    return 0o666 & ~umask()


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, sync=True):
    """Write ``path`` atomically through a temporary file name this context yields, for writers
    that need a file name rather than a file object (``torch.onnx.export``, ``onnx.save``).

    The temporary file is in ``path``'s folder (created when missing), with the mode a plain
    ``open(path, 'w')`` would give it (the umask honoured). When the block ends normally it is
    fsynced (``sync=False`` skips the fsyncs) and renamed over ``path``; when the block raises it
    is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + osp.basename(path) + '.', dir=folder)
    try:
        os.fchmod(fd, _default_mode())
        os.close(fd)
        yield tmp
        if sync:
            with open(tmp, 'rb') as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        if sync:
            _fsync_dir(folder)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@contextlib.contextmanager
def atomic_output(path, sync=True):
    """Write ``path`` atomically through the binary file this context yields (see
    :func:`atomic_path`: same folder, mode, fsync and rename; nothing changes at ``path`` when
    the block raises). Two writers of the same path each write their own temporary file, so
    neither sees the other's half-written bytes."""
    with atomic_path(path, sync=sync) as tmp:
        with open(tmp, 'wb') as f:
            yield f
            f.flush()


def to_json_safe(value):
    """``value`` with every infinite float replaced by ``"inf"``/``"-inf"`` (JSON has no
    infinity) and tuples by lists."""
    if isinstance(value, float) and math.isinf(value):
        return 'inf' if value > 0 else '-inf'
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    return value


def from_json_safe(value):
    """The inverse of :func:`to_json_safe`: ``"inf"``/``"-inf"`` back to floats."""
    if value in ('inf', '-inf'):
        return float(value)
    if isinstance(value, dict):
        return {k: from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_safe(v) for v in value]
    return value


def write_json(path, value):
    """Write ``value`` as indented JSON (infinities as strings) atomically."""
    text = json.dumps(to_json_safe(value), indent=1, allow_nan=False) + '\n'
    with atomic_output(path) as f:
        f.write(text.encode('utf-8'))
