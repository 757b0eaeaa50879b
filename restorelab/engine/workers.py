"""DataLoader workers that leave SIGTERM/SIGINT to the main process.

A scheduler (``scancel``, a preemption) or Ctrl-C signals every process of
the job, DataLoader workers included. torch's workers die on SIGTERM, and the
main process then fails with "DataLoader worker is killed by signal" before
:class:`~restorelab.engine.hooks.StopSignalHook` can save a checkpoint. So
each worker ignores SIGINT, and ignores a SIGTERM unless its main process
sent it (as multiprocessing does to shut workers down at exit): SIGTERM is
blocked in the worker and a small thread takes it with ``sigwaitinfo``,
which tells the sender. The main process stops at the end of its iteration
and shuts its workers down itself; a worker whose main process is gone exits
on its own (torch's parent watchdog).

:func:`restorelab.engine.setup.setup_engine` makes mmengine's default worker init
function (seeding; used when a dataloader config sets no ``worker_init_fn``)
also do this.
"""
import os
import signal
import threading

from mmengine.dataset import worker_init_fn as _mmengine_worker_init_fn


def _take_sigterm(parent):
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent or os.getppid() != parent:
            os._exit(0)  # shut down by the main process (or orphaned)


def leave_signals_to_main_process():
    """In a DataLoader worker: ignore SIGINT, and SIGTERM from anyone but the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hasattr(signal, 'sigwaitinfo'):  # not on this platform: keep torch's handling
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_take_sigterm, args=(os.getppid(),), daemon=True,
                     name='restorelab-sigterm').start()


def worker_init_fn(worker_id, *args, **kwargs):
    """mmengine's ``worker_init_fn`` (same arguments), then :func:`leave_signals_to_main_process`."""
    _mmengine_worker_init_fn(worker_id, *args, **kwargs)
    leave_signals_to_main_process()

