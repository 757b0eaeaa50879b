# Importing this package registers the hooks and the CPU mixed-precision
# wrapper, and installs restorelab's safe loader for local checkpoints
# (see checkpoint.py), and makes DataLoader workers leave SIGTERM/SIGINT to the
# main process (see workers.py), and registers the training loop that resumes
# without reading the data again (see loops.py).
from . import checkpoint, hooks, loops, optim_wrapper, workers  # noqa: F401
