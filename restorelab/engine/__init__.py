# Importing this package registers the hooks and the CPU mixed-precision
# wrapper, and installs restorelab's safe loader for local checkpoints
# (see checkpoint.py).
from . import checkpoint, hooks, optim_wrapper  # noqa: F401
