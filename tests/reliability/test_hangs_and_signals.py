"""The watchdog and signals under torchrun (slow; docs/reliability.md).

Injected hangs on 2 processes (a rank blocked before a collective, a DataLoader worker that
stops yielding, a restarted rank that never joins the process group) each end in one
paragraph and the stacks in the log, a torchrun restart and a finished run with the
uninterrupted run's weights. A validation and a checkpoint save longer than the timeout, which
report their progress, do not trip it. SIGINT and SIGTERM to tools/dist_train.sh save once,
print one message last and exit with 128 + N; --resume continues with the uninterrupted
batches. The watchdog's timeout is TIMEOUT seconds here: above the longest step of a start-up
on a busy 2-core machine, well below the tests' own limits."""
import json
import os
import os.path as osp
import re
import signal

import pytest
import torch

from helpers import (REPO, data_root_options, end_reports, make_rain200_folder, popen_train,
                     trained_keys, wait_for_file)
from restorelab.engine.checkpoint import safe_torch_load

pytestmark = pytest.mark.slow

WATCHDOG_CONFIG = osp.join(REPO, 'tests', 'reliability', 'configs', 'tiny_watchdog.py')
TIMEOUT = 10
OPTS = ['train_cfg.max_iters=12', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=3', 'default_hooks.checkpoint.max_keep_ckpts=10']
PARAGRAPH = 'error: the watchdog stopped this run: '


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_rain200_folder(str(tmp_path_factory.mktemp('rain')), n_train=6, n_test=4)


def _args(root, work, *options, flags=()):
    """tools/train.py arguments of the watchdog config on ``root`` in ``work``."""
    return [WATCHDOG_CONFIG, '--work-dir', work, '--watchdog-timeout', str(TIMEOUT), *flags,
            '--cfg-options', *data_root_options(root),
            f'train_dataloader.dataset.pipeline.0.work_dir={work}', *OPTS, *options]


def _finish(proc, timeout=500):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-4000:]
    return out, err


@pytest.fixture(scope='module')
def straight(root, tmp_path_factory):
    """An uninterrupted 12-iteration run on 2 processes."""
    work = str(tmp_path_factory.mktemp('straight'))
    _finish(popen_train(_args(root, work), procs=2))
    return work


def _assert_like_straight(work, straight):
    """Ended at iteration 12 with the uninterrupted weights, each rank having trained on the
    uninterrupted run's samples."""
    ends = end_reports(work)
    assert [e['iter'] for e in ends] == [12, 12] and ends[0]['param_sum'] == ends[1]['param_sum']
    a = safe_torch_load(osp.join(work, 'iter_12.pth'))['state_dict']
    b = safe_torch_load(osp.join(straight, 'iter_12.pth'))['state_dict']
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    for rank in range(2):
        assert trained_keys(work, rank) == trained_keys(straight, rank)


def _paragraph(err):
    """The watchdog's one paragraph on the screen (and that there is one)."""
    found = [line for line in err.splitlines() if line.startswith(PARAGRAPH)]
    assert len(found) == 1, err[-4000:]
    return found[0]


def _assert_logged(paragraph, *frames):
    """The paragraph and the stacks of both ranks are in the log it names; ``frames`` (file,
    function) appear in them."""
    log = re.search(r'The Python stack of every thread of each process is in (\S+)\.',
                    paragraph).group(1)
    text = open(log).read()
    assert paragraph in text
    for rank in (0, 1):
        assert f'watchdog: stacks of rank {rank} (pid ' in text
    for frame in frames:
        assert frame in text, frame


def test_rank_blocked_before_a_collective_is_restarted_and_the_run_finishes(root, straight,
                                                                            tmp_path):
    work = str(tmp_path / 'w')
    proc = popen_train(_args(root, work, 'custom_hooks.0.hang_rank=1', 'custom_hooks.0.hang_at=5',
                             'custom_hooks.0.hang_once=True'), procs=2, env=dict(MAX_RESTARTS='2'))
    out, err = _finish(proc)
    paragraph = _paragraph(err)
    assert re.search(r'rank 1 made no progress for \d+ s in the forward/backward pass of '
                     r'iteration 5', paragraph), paragraph
    assert 'rank 0 waits in a collective (gradient all-reduce) of iteration 5' in paragraph
    assert f'watchdog_timeout={TIMEOUT} s' in paragraph
    assert 'torchrun restarts the processes (restart 1 of 2)' in paragraph
    _assert_logged(paragraph, 'fault_hooks.py", line', 'in before_train_iter')
    assert 'restart 1 of this run: resuming from the newest complete checkpoint' in out + err
    _assert_like_straight(work, straight)


def test_dataloader_worker_that_stops_yielding_is_restarted_and_the_run_finishes(root, straight,
                                                                                 tmp_path):
    work = str(tmp_path / 'w')
    proc = popen_train(_args(root, work, 'custom_hooks.0.stall_data_rank=1',
                             'custom_hooks.0.stall_data_at=5'), procs=2, env=dict(MAX_RESTARTS='2'))
    out, err = _finish(proc)
    paragraph = _paragraph(err)
    assert re.search(r'rank 1 made no progress for \d+ s in loading the data of iteration \d+',
                     paragraph), paragraph
    assert 'rank 0 waits in a collective' in paragraph
    _assert_logged(paragraph, 'in _get_data')  # rank 1 waits for its worker's batch
    stalled_worker = int(open(osp.join(work, 'stalled_data')).read())
    with pytest.raises(ProcessLookupError):  # ended with its rank, not left behind
        os.kill(stalled_worker, 0)
    _assert_like_straight(work, straight)


def test_restarted_rank_that_never_joins_is_restarted_again_and_the_run_finishes(root, straight,
                                                                                 tmp_path):
    work = str(tmp_path / 'w')
    # Rank 1 dies in iteration 5; in the group torchrun starts again, it never joins
    # (it sleeps while reading the config, before init_process_group).
    proc = popen_train(_args(root, work, 'custom_hooks.0.kill_rank=1', 'custom_hooks.0.kill_at=5'),
                       procs=2, env=dict(MAX_RESTARTS='3', RESTORELAB_TEST_STALL_BEFORE_JOIN='1:1'))
    out, err = _finish(proc)
    paragraph = _paragraph(err)
    assert re.search(r'rank 1 made no progress for \d+ s in start-up[;.]', paragraph), paragraph
    assert 'rank 0 waits in joining the process group (init_process_group)' in paragraph
    assert 'torchrun restarts the processes (restart 2 of 3)' in paragraph
    _assert_logged(paragraph, 'in _stall_before_joining')
    assert 'restart 2 of this run: resuming from the newest complete checkpoint' in out + err
    _assert_like_straight(work, straight)


def test_validation_and_checkpoint_save_longer_than_the_timeout_do_not_trip_it(root, tmp_path):
    work = str(tmp_path / 'w')
    per_image, per_chunk = 0.6 * TIMEOUT, 0.3 * TIMEOUT
    # At iteration 4 rank 0 saves a checkpoint of more than 4 MiB at one 1 MiB chunk per 0.3
    # timeouts (longer than the timeout), then validates its 2 images at 0.6 timeouts each,
    # while rank 1 waits for it in collectives.
    proc = popen_train(_args(root, work, 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                             'default_hooks.checkpoint.interval=4', 'custom_hooks.0.slow_rank=0',
                             f'custom_hooks.0.slow_val_s={per_image}',
                             f'custom_hooks.0.slow_save_s={per_chunk}',
                             'custom_hooks.0.slow_save_mb=4'), procs=2)
    out, err = _finish(proc)
    assert PARAGRAPH not in out + err
    assert [e['iter'] for e in end_reports(work)] == [4, 4]
    # Both took longer than the timeout (rank 0's own records).
    saves = [json.loads(line) for line in open(osp.join(work, 'slow_saves.jsonl'))]
    assert saves[0]['file'] == 'iter_4.pth' and saves[0]['bytes'] > 4 * 2 ** 20
    assert saves[0]['seconds'] > TIMEOUT
    assert json.load(open(osp.join(work, 'slow_val.json')))['seconds'] > TIMEOUT
    assert 'Rain200H/PSNR' in out + err
    longest = re.search(r'watchdog: the longest time between two progress reports of this '
                        r'process was ([\d.]+) s', out + err)
    assert float(longest.group(1)) < TIMEOUT


def _stop_message(err):
    lines = [line for line in err.splitlines() if line.strip()]
    return lines[-1], [line for line in lines if line.startswith('training stopped by')]


@pytest.mark.parametrize('signame', ['SIGINT', 'SIGTERM'])
def test_signal_to_dist_train_saves_once_exits_128_plus_n_and_resumes(root, straight, tmp_path,
                                                                       signame):
    signum = getattr(signal, signame)
    work = str(tmp_path / 'w')
    proc = popen_train(_args(root, work), procs=2, new_session=True)
    wait_for_file(osp.join(work, 'iter_3.pth'), proc)
    if signame == 'SIGINT':  # Ctrl-C: the terminal signals its foreground process group
        os.killpg(proc.pid, signum)
    else:  # a scheduler's preemption: the launcher and every process of the job
        pids = [proc.pid] + [int(open(osp.join(work, f'pid_rank{r}')).read()) for r in (0, 1)]
        for pid in pids:
            os.kill(pid, signum)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signum, err[-4000:]
    assert 'Traceback' not in out + err and 'SignalException' not in out + err
    last, messages = _stop_message(err)
    assert len(messages) == 1 and last == messages[0]  # one message, from rank 0, last
    step = int(re.match(rf'training stopped by {signame} at iteration (\d+) after saving ',
                        last).group(1))
    checkpoint = osp.join(work, f'iter_{step}.pth')
    assert f'after saving {checkpoint}; continue with `tools/dist_train.sh {WATCHDOG_CONFIG} 2 ' \
        f'--work-dir {work} --watchdog-timeout {TIMEOUT} --cfg-options ' in last
    assert last.endswith(' --resume`')
    ends = end_reports(work)
    assert [(e['iter'], e['stop_signal']) for e in ends] == [(step, signame)] * 2
    assert open(osp.join(work, 'last_checkpoint')).read() == checkpoint
    assert (out + err).count(f'{signame} received: saving a checkpoint at iteration {step}') == 1
    torchrun_log = open(osp.join(work, 'torchrun.log')).read()  # torchrun's own messages
    assert f'stopped by {signame}' in torchrun_log

    proc = popen_train(_args(root, work, flags=['--resume']), procs=2)
    out, err = _finish(proc)
    assert f'continues at position {step * 4} of its stream' in out + err
    _assert_like_straight(work, straight)


def test_preemption_under_srun_saves_once_and_every_task_exits_143(root, tmp_path):
    """Slurm's preemption as srun delivers it: SIGTERM to every task of ``--launcher slurm``
    (no Slurm here: the tasks get the environment srun gives them)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    work = str(tmp_path / 'w')
    procs = [popen_train(_args(root, work, flags=['--launcher', 'slurm']), env=dict(
        SLURM_PROCID=str(rank), SLURM_NTASKS='2', SLURM_LOCALID=str(rank), SLURM_JOB_ID='42',
        MASTER_ADDR='127.0.0.1', MASTER_PORT=port)) for rank in (0, 1)]
    wait_for_file(osp.join(work, 'iter_3.pth'), procs[0])
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [143, 143], results[0][1][-3000:]
    (out0, err0), (out1, err1) = results
    last, messages = _stop_message(err0)
    assert messages == [last]  # one message, last, from rank 0 only
    assert 'training stopped by' not in out1 + err1
    step = int(re.match(r'training stopped by SIGTERM at iteration (\d+) after saving ',
                        last).group(1))
    assert last.endswith(' --launcher slurm --resume` under srun (or requeue the job)')
    assert [(e['iter'], e['stop_signal']) for e in end_reports(work)] == [(step, 'SIGTERM')] * 2
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, f'iter_{step}.pth')
