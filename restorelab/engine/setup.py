"""The one step that fits mmengine to restorelab: :func:`setup_engine`.

Importing restorelab changes nothing in mmengine. Tools, :func:`restorelab.apis.init_model`,
:func:`restorelab.engine.launch.build_runner` and the tests call :func:`setup_engine` (mmagic's
``register_all_modules`` is the pattern); calling it again does nothing. It makes three
changes, each explained in its module:

1. local checkpoints load through :func:`~restorelab.engine.checkpoint.load_from_local_safe`
   (``weights_only=True`` with the allow-list restorelab's own checkpoints need), so
   ``Runner.resume``, ``load_from`` and ``mmengine.runner.load_checkpoint`` use it;
2. the file backend ``restorelab_atomic_local``
   (:class:`~restorelab.engine.atomic_io.AtomicLocalBackend`) exists, through which
   :class:`~restorelab.engine.hooks.AtomicCheckpointHook` writes checkpoints atomically;
3. mmengine's default DataLoader ``worker_init_fn`` also leaves SIGTERM/SIGINT to the main
   process (:mod:`restorelab.engine.workers`), so a stopped run saves its checkpoint.
"""
_done = False


def setup_engine():
    """Install restorelab's checkpoint loader, atomic file backend and DataLoader worker
    set-up into mmengine (see the module doc). Idempotent; returns nothing."""
    global _done
    if _done:
        return
    import mmengine.runner.runner as mm_runner
    from mmengine.runner.checkpoint import CheckpointLoader

    from .atomic_io import register_atomic_backend
    from .checkpoint import load_from_local_safe
    from .workers import worker_init_fn

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safe, force=True)
    register_atomic_backend()
    mm_runner.default_worker_init_fn = worker_init_fn
    _done = True
