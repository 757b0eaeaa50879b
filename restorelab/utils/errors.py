"""Every error class restorelab shows its users, in one place.

An ``except`` on a class here catches it wherever it is raised: each module that raises one
imports it from this module (no class is defined twice).

:class:`UserInputError` is the base of the errors the user's input causes (files, configs,
command lines). Tools catch it and print its message as one paragraph (with exit code 2)
instead of a traceback: the message itself names the file or value, what was expected and
how to fix it. :class:`RunAbortedError` is the base of the errors that stop a training run
for a reason that is not the input (a full disk, diverging losses, a lost process); tools
print its message as one paragraph and exit with status 1.
"""
import difflib
import pickle


class UserInputError(Exception):
    """Base of every error that a user's input causes and the message explains."""


def user_error_message(err):
    """The message of a user error, also when a DataLoader worker re-raised it.

    torch re-raises a worker's exception as the same type with the worker's
    traceback in the text; the user needs only its last line.
    """
    text = str(err).strip()
    if 'Original Traceback' in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        last = lines[-1]
        prefix = f'{type(err).__name__}: '
        return last[len(prefix):] if last.startswith(prefix) else last
    return text


def describe_error(err):
    """One line for an error that failed one part of a larger job (a benchmark cell, a web app
    cell): a user's mistake as its message, anything else with its type name first."""
    text = ' '.join(user_error_message(err).split()) or repr(err)
    return text if isinstance(err, UserInputError) else f'{type(err).__name__}: {text}'


def closest_names(word, choices, n=3):
    """Up to ``n`` of ``choices`` closest to ``word`` (case ignored), for "did you mean"."""
    lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[c] for c in close]


# ------------------------------------------------------ Files and images


class ImageReadError(UserInputError, OSError):
    """An image file is missing, unreadable or in an unsupported form."""


class ImageSizeError(UserInputError, ValueError):
    """Two images compared by a metric have different sizes."""


class ImagePairSizeError(UserInputError, ValueError):
    """A rainy image and its ground truth differ in size."""


class DatasetLayoutError(UserInputError, ValueError):
    """A dataset's files are not laid out as its config says."""


class SyntheticRainError(UserInputError, ValueError):
    """A synthetic-rain parameter is out of range or of the wrong form."""


class FolderEvalError(UserInputError, ValueError):
    """Result and ground-truth folders cannot be scored as given."""


class BrisqueParamsError(UserInputError, ValueError):
    """A BRISQUE parameters file is malformed."""


# --------------------------------------------- Configs and command lines


class ConfigError(UserInputError, ValueError):
    """A config entry that names an unknown key or type."""


class LaunchError(UserInputError):
    """A user-facing problem with the command line or the config."""


class BenchConfigError(UserInputError, ValueError):
    """A BENCH_CONFIG entry is missing, unknown or has a bad value."""


class ModelListError(UserInputError, ValueError):
    """A model named on the command line cannot be used as given."""


class DeviceError(UserInputError, ValueError):
    """A device that is not 'cpu', 'cuda' or 'cuda:N', or CUDA on a machine without it."""


class BenchmarkError(UserInputError, ValueError):
    """The benchmark cannot run as asked (device, resume file, selection)."""


class ModelRefError(UserInputError, ValueError):
    """A model reference (config + checkpoint, released name, .onnx, identity) is of no known
    kind or does not fit what it names."""


# --------------------------------------- Checkpoints and released models


class CheckpointNotFoundError(UserInputError, FileNotFoundError):
    """A checkpoint path that is not a file."""


class UnsafeCheckpointError(UserInputError, pickle.UnpicklingError):
    """A checkpoint needs unpickling that restorelab does not allow."""


class CheckpointMismatchError(UserInputError, ValueError):
    """A checkpoint's weights do not fit the model built from the config."""


class CheckpointConversionError(UserInputError, ValueError):
    """An official checkpoint cannot be read, unwrapped or fitted to the arch."""


class ModelInitFileError(UserInputError, ValueError):
    """A file an arch starts its training from (e.g. RCDNet's initial rain kernels) is missing
    or not of the expected form."""


class ZooError(UserInputError):
    """A released model cannot be found, fetched or verified."""


class UnknownModelError(ZooError, ValueError):
    """A name that is neither a released model nor (where one was possible) an existing file."""


class NotDownloadableError(ZooError):
    """A link-only release: it is downloaded by hand and converted."""


class DownloadError(ZooError):
    """The file could not be fetched (HTTP error, no connection, timeout, truncated body)."""


class ChecksumError(ZooError):
    """A fetched or cached file does not have the manifest's sha256."""


# ------------------------------------------------------------- Inference


class InferenceMemoryError(UserInputError, RuntimeError):
    """Restoring an image ran out of memory (the message says how large it was and how to tile)."""


# ---------------------------------------------------------- ONNX deployment


class DeployError(UserInputError, ValueError):
    """An export or an .onnx file cannot be used as asked (shape, opset, metadata, inputs)."""


class DeployDependencyError(DeployError, ImportError):
    """onnx or onnxruntime is not installed (``pip install -e .[deploy]``)."""


class ExportVerificationError(DeployError):
    """The exported graph does not reproduce the PyTorch model; the file was not written."""


# --------------------------------------------------------- Training runs


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
