"""How a run of several processes ends: torchrun's agent without its traceback, and the exit
status the processes ask for.

``tools/dist_train.sh`` and ``tools/dist_test.sh`` start the processes through :func:`main`
(``tools/dist_launch.py``): torchrun's own launcher (``torch.distributed.run``, the same
options, the same elastic agent and restarts) run in this process, with three changes.

* torchrun's own messages (its agent's warnings, the report of a failed process) go to a log
  file (``--log-file``; the dist scripts put it in the work dir as ``torchrun.log``) instead of
  the screen; the processes' own output still goes to the screen.
* SIGINT/SIGTERM (Ctrl-C, ``kill``, a scheduler's preemption): torchrun forwards the signal to
  the processes and waits ``--shutdown-timeout`` seconds for them (each saves its checkpoint
  and stops; rank 0 prints the one message); then this launcher exits with 128 + N, quietly,
  where torchrun would print a 25-line ``SignalException`` traceback and exit 1.
* The processes of a run stopped by a signal exit with status 0 and leave the status they ask
  for (128 + N) in a file the launcher names (:func:`exit_status_after_stop`), so that torchrun
  neither restarts them (``MAX_RESTARTS``) nor reports a failure when only they were signalled
  (a preempted node); the launcher then exits with that status.

A process that fails for another reason (an error, the watchdog) makes the launcher exit with
its status after torchrun's restarts are spent; its own message is on the screen, and one line
names a process killed by a signal (which printed nothing).
"""
import json
import logging
import os
import os.path as osp
import signal
import sys
import tempfile

from .watchdog import LAUNCHER_LOG_ENV

# The file in which a run's processes leave the exit status they ask for (set by the launcher).
STATUS_FILE_ENV = 'RESTORELAB_RUN_STATUS_FILE'


def exit_status_after_stop(signame, **info):
    """The exit status of a process stopped by signal ``signame`` after saving what it had to:
    128 + N, or 0 under :func:`main`'s launcher, which is told 128 + N through its status file
    (written by the first process of each machine; ``info`` is kept with it)."""
    status = 128 + int(getattr(signal, signame))
    path = os.environ.get(STATUS_FILE_ENV)
    if not path:
        return status
    if os.environ.get('LOCAL_RANK', '0') == '0':
        tmp = f'{path}.{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(dict(status=status, signal=signame, **info), f)
        os.replace(tmp, path)
    return 0


class SignalStop(BaseException):
    """Raised in the main thread by :func:`stop_on_signals`' handler (a BaseException, like
    KeyboardInterrupt, so that ``except Exception`` blocks let it through)."""

    def __init__(self, signame):
        super().__init__(signame)
        self.signame = signame


class stop_on_signals:  # noqa: N801 - used as a context manager, like contextlib's
    """Within the block, SIGINT and SIGTERM raise :class:`SignalStop` in the main thread (for
    runs with nothing to save, such as testing: they stop at once); the previous handlers are
    restored at the end."""

    SIGNALS = ('SIGINT', 'SIGTERM')

    def __enter__(self):
        self._previous = {}
        for name in self.SIGNALS:
            signum = getattr(signal, name)
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    @staticmethod
    def _handle(signum, frame):
        raise SignalStop(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False


# ---------------------------------------------------------------------------- the launcher
def _log_to(path):
    """Send every log record of this process and every warning to ``path``: torchrun's agent
    logs through ``logging``, and torch gives many of its loggers (``torch``,
    ``torch.distributed``, ...) handlers of their own that write to stderr; every handler
    that writes to a stream is replaced by the file."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    handler = logging.FileHandler(path, mode='a')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for logger in loggers:
        screen = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
                  and not isinstance(h, logging.FileHandler)]
        for old in screen:
            logger.removeHandler(old)
        if screen or logger is loggers[0]:
            logger.addHandler(handler)
    loggers[0].setLevel(logging.INFO)
    logging.captureWarnings(True)
    return handler


def _read_status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _failure_status(err, log_file):
    """The exit status for torchrun's ChildFailedError (and a line for each process killed by
    a signal, which printed nothing itself). A process that ended with SIGTERM while another
    one exited with an error of its own was stopped by torchrun after that failure (the
    failing one said why): it is neither reported nor counted."""
    failures = sorted(err.failures.items())
    errored = any(f.exitcode > 0 for _, f in failures)
    statuses = []
    for rank, failure in failures:
        code = failure.exitcode
        if errored and code == -signal.SIGTERM:
            continue
        statuses.append(code)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f'signal {-code}'
            hint = (' (the out-of-memory killer sends it: see `dmesg`)'
                    if name == 'SIGKILL' else '')
            where = f'; torchrun\'s report is in {log_file}' if log_file else ''
            print(f'error: rank {rank} (pid {failure.pid}) was killed by {name}{hint}{where}',
                  file=sys.stderr, flush=True)
    positive = {c for c in statuses if c > 0}
    if len(positive) == 1 and len(positive) == len(set(statuses)):
        return positive.pop()
    return 1


def main(argv=None):
    """``tools/dist_launch.py [--log-file PATH] TORCHRUN_OPTIONS SCRIPT ARGS``; returns the
    exit status (see the module doc)."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    argv = list(sys.argv[1:] if argv is None else argv)
    log_file = None
    if argv[:1] == ['--log-file']:
        if len(argv) < 2:
            print('error: --log-file needs a path', file=sys.stderr)
            return 2
        log_file, argv = osp.abspath(argv[1]), argv[2:]
    args = torchrun.parse_args(argv)
    if log_file:
        _log_to(log_file)
        os.environ[LAUNCHER_LOG_ENV] = log_file
        logging.getLogger(__name__).info('launching: %s', ' '.join(argv))
    fd, status_file = tempfile.mkstemp(prefix='restorelab-status-', suffix='.json')
    os.close(fd)
    os.remove(status_file)  # a file appears only when a process asks for a status
    os.environ[STATUS_FILE_ENV] = status_file
    where = f' (torchrun\'s log: {log_file})' if log_file else ''
    try:
        torchrun.run(args)
        stopped = _read_status(status_file)
        return int(stopped['status']) if stopped else 0
    except SignalException as err:
        logging.getLogger(__name__).warning('stopped by %s', err.sigval.name)
        if _read_status(status_file) is None:
            print(f'error: stopped by {err.sigval.name}; the processes did not report a saved '
                  'checkpoint (not training, or they did not stop within torchrun\'s '
                  f'--shutdown-timeout){where}', file=sys.stderr, flush=True)
        return 128 + int(err.sigval)
    except ChildFailedError as err:
        logging.getLogger(__name__).error('%s', err.format_msg())
        return _failure_status(err, log_file)
    except Exception as err:  # noqa: BLE001 - torchrun itself failed (rendezvous, ports)
        logging.getLogger(__name__).exception('torchrun failed')
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f'error: torchrun failed: {first}{where}', file=sys.stderr, flush=True)
        return 1
    finally:
        try:
            os.remove(status_file)
        except OSError:
            pass
