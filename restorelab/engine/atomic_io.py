"""Atomic file writes for checkpoints.

A checkpoint is first written to a temporary file in the destination folder,
flushed to the disk (``fsync``), then renamed over the destination
(``os.replace``, atomic on POSIX within one file system) and the folder entry
is synced. A process killed at any moment therefore leaves either the old file
or the complete new one, never a truncated ``iter_N.pth``/``last_checkpoint``.
``AtomicLocalBackend`` is mmengine's ``LocalBackend`` with atomic ``put`` and
``put_text``; :class:`~restorelab.engine.hooks.AtomicCheckpointHook` selects
it for local output folders.
"""
import contextlib
import os
import os.path as osp
import tempfile

from mmengine.fileio import LocalBackend, register_backend

from .errors import CheckpointSaveError

ATOMIC_BACKEND = 'restorelab_atomic_local'
TMP_PREFIX = '.tmp-'


def _default_mode():
    """The mode ``open(path, 'w')`` would give a new file (0o666 minus the umask);
    mkstemp creates 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_mode()


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
def atomic_output(path):
    """Write ``path`` atomically through the binary file this context yields.

    The file is a temporary one in ``path``'s folder; when the block ends normally it is
    flushed, fsynced and renamed over ``path``. When the block raises, the temporary file
    is removed and ``path`` is left as it was. Two writers of the same path each write
    their own temporary file, so neither sees the other's half-written bytes.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + osp.basename(path) + '.', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(fd, _FILE_MODE)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically (see module doc).

    Raises:
        CheckpointSaveError: when writing fails (no space, no permission,
            file too large); the temporary file is removed and ``path`` is
            left as it was.
    """
    try:
        with atomic_output(path) as f:
            f.write(data)
    except OSError as err:
        detail = f'[Errno {err.errno}] {err.strerror}' if err.errno else str(err)
        raise CheckpointSaveError(
            f'could not write {path!r} ({len(data) / 2**20:.1f} MiB): {detail}. The file as it was '
            'before is untouched.') from err


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic."""

    def put(self, obj, filepath):
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write_bytes(filepath, obj.encode(encoding))
