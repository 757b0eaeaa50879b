"""Checkpoint files: atomic writes, deletion only after the successor is saved,
a full disk stops the run with the previous checkpoint intact, and
``--resume auto`` takes the newest complete checkpoint."""
import errno
import glob
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import AtIteration, build_runner, captured_log, make_rain200_folder, tiny_cfg
from restorelab.engine import launch
from restorelab.engine.atomic_io import atomic_write_bytes
from restorelab.utils.fileio import TMP_PREFIX
from restorelab.engine.checkpoint import checkpoint_problem, find_resume_checkpoint, safe_torch_load
from restorelab.utils.errors import CheckpointSaveError


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_rain200_folder(str(tmp_path_factory.mktemp('rain')))


def _enospc_on_fsync(monkeypatch):
    """From now on, flushing a file to disk fails as on a full device."""
    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'fsync', fsync)


def test_atomic_write_replaces_whole_file_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / 'ck.pth'
    atomic_write_bytes(path, b'old contents')
    atomic_write_bytes(path, b'new')
    assert path.read_bytes() == b'new'
    # Same permissions as a plain open() would give.
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)
    _enospc_on_fsync(monkeypatch)
    with pytest.raises(CheckpointSaveError, match='No space left on device') as info:
        atomic_write_bytes(path, b'x' * 1000)
    assert 'ck.pth' in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['ck.pth']  # no temporary file left behind


def test_checkpoints_are_pruned_only_after_the_successor_is_saved(root, tmp_path, monkeypatch):
    cfg = tiny_cfg(root, tmp_path / 'w', {
        'train_cfg.max_iters': 6, 'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.checkpoint.max_keep_ckpts': 1})
    # The disk fills up during iteration 4, before its checkpoint is written.
    runner = build_runner(cfg, [AtIteration(4, lambda r, b: _enospc_on_fsync(monkeypatch))])
    with pytest.raises(CheckpointSaveError) as info:
        runner.train()
    monkeypatch.undo()
    msg = str(info.value)
    assert 'iter_4.pth' in msg and 'No space left on device' in msg
    assert 'training stopped at iteration 4' in msg and '--resume' in msg
    work = str(tmp_path / 'w')
    assert f"previous checkpoint {osp.join(work, 'iter_2.pth')!r} is intact" in msg
    # mmengine would have deleted iter_2.pth (max_keep_ckpts=1) before writing iter_4.pth.
    assert sorted(f for f in os.listdir(work) if f.startswith('iter_')) == ['iter_2.pth']
    assert not glob.glob(osp.join(work, TMP_PREFIX + '*'))
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'iter_2.pth')
    assert safe_torch_load(osp.join(work, 'iter_2.pth'))['meta']['iter'] == 2
    # The run resumes from it and goes on normally (iter_4 replaces iter_2).
    cfg = tiny_cfg(root, work, {'train_cfg.max_iters': 6, 'train_cfg.val_interval': 100,
                                'default_hooks.checkpoint.interval': 2,
                                'default_hooks.checkpoint.max_keep_ckpts': 1})
    launch.resolve_resume(cfg, 'auto')
    runner = build_runner(cfg)
    runner.train()
    assert sorted(f for f in os.listdir(work) if f.startswith('iter_')) == ['iter_6.pth']


def test_best_checkpoint_replaced_after_the_new_one_is_written(root, tmp_path, monkeypatch):
    from restorelab.engine.atomic_io import AtomicLocalBackend
    events = []
    put, remove = AtomicLocalBackend.put, AtomicLocalBackend.remove
    monkeypatch.setattr(AtomicLocalBackend, 'put',
                        lambda self, obj, path: (events.append(('put', osp.basename(path))),
                                                 put(self, obj, path))[1])
    monkeypatch.setattr(AtomicLocalBackend, 'remove',
                        lambda self, path: (events.append(('remove', osp.basename(path))),
                                            remove(self, path))[1])
    cfg = tiny_cfg(root, tmp_path / 'w', {
        'train_cfg.max_iters': 6, 'train_cfg.val_interval': 2,
        'default_hooks.checkpoint.interval': 2,
        # PSNR falls from iteration 2 to 4 in this tiny run: rule 'less' makes 4 the new best.
        'default_hooks.checkpoint.rule': 'less'})
    build_runner(cfg).train()
    best_puts = [i for i, (op, name) in enumerate(events) if op == 'put' and name.startswith('best_')]
    best_removes = [i for i, (op, name) in enumerate(events)
                    if op == 'remove' and name.startswith('best_')]
    # The best file was replaced, after its successor had been written.
    assert best_removes, events
    for i in best_removes:
        old = events[i][1]
        assert any(j < i and events[j][1] != old for j in best_puts), events
    best = glob.glob(osp.join(str(tmp_path / 'w'), 'best_*.pth'))
    assert len(best) == 1 and checkpoint_problem(best[0]) is None


def _save(path, step):
    torch.save({'meta': {'iter': step}, 'state_dict': {'w': torch.full((1000,), float(step))}}, path)


def test_resume_auto_skips_truncated_and_corrupt_checkpoints(tmp_path):
    work = str(tmp_path)
    for step in (2, 4, 6, 8):
        _save(osp.join(work, f'iter_{step}.pth'), step)
    data = open(osp.join(work, 'iter_8.pth'), 'rb').read()
    with open(osp.join(work, 'iter_8.pth'), 'wb') as f:  # killed while writing
        f.write(data[:len(data) // 2])
    data = bytearray(open(osp.join(work, 'iter_6.pth'), 'rb').read())
    data[len(data) // 2] ^= 0xFF  # a flipped bit inside the tensor data
    with open(osp.join(work, 'iter_6.pth'), 'wb') as f:
        f.write(bytes(data))
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_8.pth'))
    assert 'truncated' in checkpoint_problem(osp.join(work, 'iter_8.pth'))
    assert 'CRC' in checkpoint_problem(osp.join(work, 'iter_6.pth'))
    assert checkpoint_problem(osp.join(work, 'iter_4.pth')) is None
    path, skipped = find_resume_checkpoint(work)
    assert path == osp.join(work, 'iter_4.pth')
    assert [osp.basename(p) for p, _ in skipped] == ['iter_8.pth', 'iter_6.pth']

    with captured_log() as lines:
        cfg = launch.resolve_resume(Config(dict(work_dir=work)), 'auto')
    assert cfg.load_from == osp.join(work, 'iter_4.pth') and cfg.resume
    text = '\n'.join(lines)
    assert f"skipping {osp.join(work, 'iter_8.pth')}: it is truncated" in text
    assert f"skipping {osp.join(work, 'iter_6.pth')}" in text
    assert f"resuming from {osp.join(work, 'iter_4.pth')}, the newest complete checkpoint" in text
    # Naming an incomplete checkpoint explicitly is an error, not a crash later.
    with pytest.raises(launch.LaunchError, match='truncated'):
        launch.resolve_resume(Config(dict(work_dir=work)), osp.join(work, 'iter_8.pth'))


def test_resume_auto_prefers_a_newer_checkpoint_than_last_checkpoint_names(tmp_path):
    # Killed after iter_6.pth was renamed into place, before last_checkpoint was updated.
    for step in (4, 6):
        _save(tmp_path / f'iter_{step}.pth', step)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == (str(tmp_path / 'iter_6.pth'), [])
    for f in tmp_path.iterdir():
        f.unlink()
    _save(tmp_path / 'iter_2.pth', 2)
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    with pytest.raises(launch.LaunchError, match='only incomplete ones'):
        launch.resolve_resume(Config(dict(work_dir=str(tmp_path))), 'auto')


def test_train_tool_stops_cleanly_when_the_file_system_refuses_a_checkpoint(root, tmp_path):
    """A real write failure from the OS (file size limit, EFBIG) through tools/train.py."""
    import resource
    import signal
    import subprocess
    import sys

    from helpers import ENV, REPO, TINY_CONFIG, data_root_options, tool_main
    work = str(tmp_path / 'w')
    opts = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
            *data_root_options(root)]
    code, err = tool_main('train', ['tools/train.py', TINY_CONFIG, '--work-dir', work,
                                    '--cfg-options', 'train_cfg.max_iters=2',
                                    'experiment_name=fsize_first', *opts][1:])
    assert code == 0, err
    size = osp.getsize(osp.join(work, 'iter_2.pth'))

    def limit():  # files may not grow past half a checkpoint
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, size // 2))

    res = subprocess.run([sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir', work,
                          '--resume', '--cfg-options', 'train_cfg.max_iters=4', *opts],
                         cwd=REPO, env=dict(os.environ, **ENV), capture_output=True, text=True,
                         preexec_fn=limit, timeout=300)
    assert res.returncode == 1, res.stderr[-3000:]
    assert 'Traceback' not in res.stderr
    err = res.stderr.strip()
    assert err.startswith('error: saving a checkpoint failed, so training stopped at iteration 4')
    assert f"could not write {osp.join(work, 'iter_4.pth')!r}" in err and 'File too large' in err
    assert f"previous checkpoint {osp.join(work, 'iter_2.pth')!r} is intact" in err
    assert sorted(f for f in os.listdir(work) if f.startswith('iter_')) == ['iter_2.pth']
    assert not glob.glob(osp.join(work, TMP_PREFIX + '*'))
    assert checkpoint_problem(osp.join(work, 'iter_2.pth')) is None
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, 'iter_2.pth')
    # The run had begun: its folder stays, and its log ends with the error.
    log = sorted(glob.glob(osp.join(work, '2*', '2*.log')))[-1]
    assert open(log).read().rstrip().endswith(err[len('error: '):])
