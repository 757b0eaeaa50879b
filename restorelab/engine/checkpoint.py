"""Safe checkpoint loading for mmengine 0.10 on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10's
own checkpoints (``iter_N.pth``) hold a few objects that the weights-only
unpickler refuses: the message hub's ``HistoryBuffer`` and numpy arrays and
scalars. Resume therefore fails. restorelab keeps ``weights_only=True`` for
every file and allows, during its loads only, exactly the globals its own
checkpoints need (``RESUME_SAFE_GLOBALS``). None of them can run code:

* ``HistoryBuffer`` is rebuilt from its state (lists of numbers);
* numpy's array/scalar reconstructors build arrays and scalars only;
* ``builtins.getattr`` appears because a ``HistoryBuffer`` pickles its
  statistics methods as ``getattr(HistoryBuffer, 'mean')``. The real getattr
  would reach any attribute of any allowed object (and through it
  ``builtins``), so a stand-in is registered under that name which only
  answers those four look-ups.

``torch.load(..., weights_only=False)`` is never used, and neither is
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (it runs a malicious file's payload).

:func:`restorelab.engine.setup.setup_engine` installs :func:`load_from_local_safe` as
mmengine's loader for local paths, so ``Runner.resume``, ``load_from`` and
``mmengine.runner.load_checkpoint`` all go through it.
"""
import os
import os.path as osp
import pickle
import re

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from restorelab.utils.errors import CheckpointNotFoundError, UnsafeCheckpointError

# HistoryBuffer's statistics methods, the only attributes a checkpoint may
# look up with getattr.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); restorelab allows only '
        f'getattr(HistoryBuffer, {"|".join(_HISTORY_BUFFER_METHODS)})')


def _numpy_globals():
    """numpy's reconstructors under their numpy >= 2 and < 2 spellings."""
    items = [np.ndarray, np.dtype]
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        items.append((multiarray._reconstruct, f'{module}._reconstruct'))
        items.append((multiarray.scalar, f'{module}.scalar'))
    # Arrays pickle their dtype's class (numpy >= 1.25: numpy.dtypes.*DType).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items.extend(getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType'))
    return items


def _build_safe_globals():
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


RESUME_SAFE_GLOBALS = _build_safe_globals()


def safe_torch_load(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with restorelab's allow-list.

    Loads tensors, plain containers and numbers from any file, plus the few
    mmengine/numpy objects of restorelab's own training checkpoints.

    Raises:
        CheckpointNotFoundError: ``path`` is not a file.
        UnsafeCheckpointError: the file needs any other global; the message
            names it and says how to proceed.
    """
    path = osp.expanduser(os.fspath(path))
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f'checkpoint file {path!r} does not exist')
    try:
        with torch.serialization.safe_globals(RESUME_SAFE_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'refused to load {path!r}: it needs arbitrary unpickling, which could run code '
            f'from the file, and restorelab loads checkpoints with weights_only=True.\n'
            f'torch said: {str(err).splitlines()[0]}\n'
            'If the file is an official release of a supported model, convert it with '
            '`python tools/convert_checkpoint.py MODEL IN.pth OUT.pth`; if you trust it and it '
            'holds other objects, re-save only its tensors (`torch.save(state_dict, ...)`) from '
            'the code that wrote it.') from None


def load_from_local_safe(filename, map_location=None):
    """mmengine ``CheckpointLoader`` scheme for local paths (see module doc)."""
    return safe_torch_load(filename, map_location=map_location)



def checkpoint_problem(path):
    """Why ``path`` is not a complete torch checkpoint, or None when it is.

    torch writes a zip archive whose central directory comes last: a file
    cut short by a kill or a full disk has none. Every member's CRC is
    checked too (this reads the file once, without unpickling anything).
    """
    import zipfile
    try:
        size = osp.getsize(path)
    except OSError as err:
        return f'cannot read it ({err.strerror})'
    if size == 0:
        return 'it is empty (0 bytes)'
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if not any(n.endswith('/data.pkl') or n == 'data.pkl' for n in names):
                return 'it is a zip file without data.pkl, not a torch checkpoint'
            bad = zf.testzip()
            if bad is not None:
                return f'its member {bad!r} is corrupt (CRC mismatch)'
    except zipfile.BadZipFile as err:
        return f'it is truncated or not a torch checkpoint ({size} bytes; {err})'
    except (OSError, EOFError, ValueError) as err:
        return f'it cannot be read completely ({err})'
    return None


_STEP_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def find_resume_checkpoint(work_dir):
    """The newest complete checkpoint of a run in ``work_dir``.

    Candidates are the file named by ``last_checkpoint`` and every
    ``iter_N.pth``/``epoch_N.pth`` in ``work_dir``, newest (largest N, and
    the ``last_checkpoint`` one first among equals) first. Returns
    ``(path or None, skipped)`` with ``skipped`` a list of ``(path, reason)``
    for the newer candidates that are incomplete.
    """
    candidates = {}
    marker = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(marker):
        with open(marker) as f:
            named = f.read().strip() or None
    if named:
        candidates[osp.abspath(named)] = named
    if osp.isdir(work_dir):
        for name in os.listdir(work_dir):
            if _STEP_NAME.match(name):
                path = osp.join(work_dir, name)
                candidates.setdefault(osp.abspath(path), path)

    def order(item):
        path = item[1]
        m = _STEP_NAME.match(osp.basename(path))
        step = int(m.group(1)) if m else float('inf')
        return (step, path == named)

    skipped = []
    for _, path in sorted(candidates.items(), key=order, reverse=True):
        if not osp.isfile(path):
            skipped.append((path, 'it does not exist'))
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped
