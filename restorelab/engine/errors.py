"""Errors that stop a training run for a reason its message explains.

Not the user's input (see :class:`restorelab.utils.errors.UserInputError`) but
the run's circumstances: a full disk, diverging losses, a lost process. The
tools print the message as one paragraph and exit with status 1.
"""


class RunAbortedError(RuntimeError):
    """The run stopped; the message says why, what was kept and how to go on.

    ``every_rank`` is true for errors that every process of a distributed run
    raises at the same iteration with the same message: the tools print those
    once (rank 0) instead of once per process.
    """

    every_rank = False


class CheckpointSaveError(RunAbortedError, OSError):
    """A checkpoint could not be written (e.g. no space left on the device)."""


class NonFiniteLossError(RunAbortedError, FloatingPointError):
    """Too many consecutive training steps had a non-finite loss or gradient."""

    every_rank = True


class DistributedFailureError(RunAbortedError):
    """Another process of a distributed run died or stopped answering."""


class DataLoaderWorkerError(RunAbortedError):
    """A DataLoader worker process died (a crash in native code, the OOM killer)."""
