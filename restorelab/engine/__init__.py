"""restorelab's training and testing machinery on mmengine.

Importing this package registers the hooks, the CPU mixed-precision wrapper, the training loop
that resumes without reading the trained batches again (loops.py) and the learning-rate schedules
mmengine lacks (schedulers.py) — registry entries only. The
changes restorelab makes to mmengine itself (safe checkpoint loader, atomic checkpoint backend,
DataLoader workers that leave signals to the main process) are made by :func:`setup_engine`,
which tools, ``init_model``, ``launch.build_runner`` and the tests call.
"""
from . import hooks, loops, optim_wrapper, schedulers  # noqa: F401
from .setup import setup_engine

__all__ = ['setup_engine']
