"""Atomic file writes for checkpoints.

A checkpoint is written through :func:`restorelab.utils.fileio.atomic_output`
(temporary file, fsync, rename): a process killed at any moment leaves either the
old file or the complete new one, never a truncated ``iter_N.pth``/``last_checkpoint``.
``AtomicLocalBackend`` is mmengine's ``LocalBackend`` with atomic ``put`` and
``put_text``; :func:`register_atomic_backend` (part of
:func:`restorelab.engine.setup.setup_engine`) registers it, and
:class:`~restorelab.engine.hooks.AtomicCheckpointHook` selects it for local output folders.
"""
import os

from mmengine.fileio import LocalBackend, register_backend

from restorelab.utils.fileio import atomic_output
from restorelab.utils.errors import CheckpointSaveError

from .watchdog import report_progress

ATOMIC_BACKEND = 'restorelab_atomic_local'
# Bytes written at once: each chunk written is progress for the watchdog, so a long save of a
# large checkpoint never looks like a stall (and a write that blocks does).
WRITE_CHUNK = 1 << 20


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically (see module doc).

    Raises:
        CheckpointSaveError: when writing fails (no space, no permission,
            file too large); the temporary file is removed and ``path`` is
            left as it was.
    """
    view = memoryview(data)
    name = os.path.basename(path)
    try:
        with atomic_output(path) as f:
            for start in range(0, len(view), WRITE_CHUNK):
                f.write(view[start:start + WRITE_CHUNK])
                report_progress('checkpoint', detail=f'writing {name}')
            report_progress('checkpoint', detail=f'syncing {name}')
    except OSError as err:
        detail = f'[Errno {err.errno}] {err.strerror}' if err.errno else str(err)
        raise CheckpointSaveError(
            f'could not write {path!r} ({len(data) / 2**20:.1f} MiB): {detail}. The file as it was '
            'before is untouched.') from err


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic."""

    def put(self, obj, filepath):
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write_bytes(filepath, obj.encode(encoding))


def register_atomic_backend():
    """Make :class:`AtomicLocalBackend` mmengine's file backend ``ATOMIC_BACKEND`` (called by
    :func:`restorelab.engine.setup.setup_engine` and by the hook that writes through it)."""
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
