"""CheckpointHook whose files survive a kill at any moment and a full disk."""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from restorelab.registry import HOOKS
from restorelab.utils.fileio import TMP_PREFIX

from ..atomic_io import ATOMIC_BACKEND, atomic_write_bytes, register_atomic_backend
from restorelab.utils.errors import CheckpointSaveError


class _DeferredRemovals:
    """A file backend proxy that records ``remove``/``rmtree`` calls instead of
    running them, so that an old file goes only once its successor is saved."""

    def __init__(self, backend):
        self._backend = backend
        self.pending = []

    def remove(self, path):
        self.pending.append(('remove', path))

    def rmtree(self, path):
        self.pending.append(('rmtree', path))

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def flush(self):
        for op, path in self.pending:
            if getattr(self._backend, 'exists', osp.exists)(path):
                getattr(self._backend, op)(path)
        self.pending = []


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with three guarantees.

    * ``iter_N.pth``, ``best_*.pth`` and ``last_checkpoint`` are written
      atomically (temporary file in the same folder, fsync, rename; see
      :mod:`restorelab.engine.atomic_io`) when the output folder is local.
    * A checkpoint replaced by ``max_keep_ckpts`` or by a new best is deleted
      only after its successor is on disk (mmengine deletes first), and
      ``last_checkpoint`` names a new file only once it is complete.
    * When a save fails (e.g. no space left), training stops with
      :class:`CheckpointSaveError` naming the file, the reason and the previous
      checkpoint, which is left intact.

    Leftover temporary files of a killed save are removed when training starts.
    """

    def __init__(self, *args, backend_args=None, file_client_args=None, out_dir=None, **kwargs):
        if backend_args is None and file_client_args is None and (
                out_dir is None or '://' not in str(out_dir)):
            register_atomic_backend()  # the backend this hook names (idempotent)
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, out_dir=out_dir, backend_args=backend_args,
                         file_client_args=file_client_args, **kwargs)

    def before_train(self, runner):
        super().before_train(runner)
        if is_main_process() and not str(self.out_dir).count('://'):
            for tmp in glob.glob(osp.join(self.out_dir, TMP_PREFIX + '*')):
                runner.logger.warning(f'removing {tmp}, the partial file of a save that was '
                                      'interrupted')
                try:
                    os.remove(tmp)
                except OSError:
                    pass

    def _stopped(self, runner, err, previous):
        """``err`` re-raised with what the run did and kept (once)."""
        if getattr(err, 'explained', False):
            return err
        kept = (f'the previous checkpoint {previous!r} is intact' if previous else
                'no earlier checkpoint of this run exists')
        msg = (f'saving a checkpoint failed, so training stopped at iteration {runner.iter + 1}: '
                f'{err} Nothing was deleted: {kept}. Free space (or fix the folder) and continue '
                'with `tools/train.py CONFIG --resume`.')
        new = CheckpointSaveError(msg)
        new.explained = True
        return new

    def _save_checkpoint_with_step(self, runner, step, meta):
        filename = self.filename_tmpl.format(step)
        path = self.file_backend.join_path(self.out_dir, filename)
        # After a resume, the previous checkpoint is known from the message hub.
        previous = self.last_ckpt or runner.message_hub.get_info('last_ckpt')
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        # The checkpoint records itself as the last one (as in mmengine).
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        try:
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        except CheckpointSaveError as err:
            raise self._stopped(runner, err, previous) from err
        if not is_main_process():
            return
        try:
            atomic_write_bytes(osp.join(runner.work_dir, 'last_checkpoint'), str(path).encode())
        except CheckpointSaveError as err:
            raise self._stopped(runner, err, previous) from err
        for old in stale:
            old_path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(old_path):
                self.file_backend.remove(old_path)
            elif self.file_backend.isdir(old_path):
                self.file_backend.rmtree(old_path)

    def _save_best_checkpoint(self, runner, metrics):
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        previous = (getattr(self, 'best_ckpt_path', None) or self.last_ckpt
                    or runner.message_hub.get_info('last_ckpt'))
        try:
            super()._save_best_checkpoint(runner, metrics)
        except CheckpointSaveError as err:
            raise self._stopped(runner, err, previous) from err
        finally:
            self.file_backend = backend
        if is_main_process():
            deferred.flush()
