"""The watchdog and signals under torchrun (slow; docs/reliability.md).

One run on 2 processes meets a fault in each of torchrun's starts (a rank blocked before a
collective, a DataLoader worker that stops yielding, a SIGKILLed rank, a restarted rank that
never joins the process group): each hang ends in one paragraph and the stacks in the log, each
fault in a torchrun restart, and the run finishes with the uninterrupted run's weights. A
validation and a checkpoint save longer than the timeout, which report their progress, do not
trip it. SIGINT and SIGTERM to tools/dist_train.sh (one after the other in one run, SIGTERM to
every process and to the launcher alone) save once, print one message last and exit with
128 + N; --resume continues with the uninterrupted batches. The watchdog's timeout is TIMEOUT
seconds here: above the longest step of a start-up on a busy 2-core machine, well below the
tests' own limits."""
import json
import os
import os.path as osp
import re
import signal

import pytest
import torch

from helpers import (REPO, data_root_options, end_reports, make_rain200_folder, popen_train,
                     trained_keys, wait_for, wait_for_file)
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


def _paragraphs(err, n):
    """The watchdog's paragraphs on the screen, in order (and that there are ``n``)."""
    found = [line for line in err.splitlines() if line.startswith(PARAGRAPH)]
    assert len(found) == n, err[-6000:]
    return found


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
    return log


def test_a_fault_in_each_restart_ends_in_one_paragraph_and_the_run_finishes(root, straight,
                                                                            tmp_path):
    """One run on 2 processes with a fault in each start of torchrun's, each start after the
    first resuming from the newest complete checkpoint: (0) rank 1 blocks before the collective
    of iteration 5; (1) rank 1's DataLoader worker stops yielding from iteration 7 on; (2) rank 1
    is SIGKILLed in iteration 11 (torchrun sees it die: no paragraph); (3) the restarted rank 1
    never joins the process group (it sleeps while reading the config, before
    init_process_group); (4) the run finishes like the uninterrupted one."""
    work = str(tmp_path / 'w')
    proc = popen_train(
        _args(root, work, 'custom_hooks.0.hang_rank=1', 'custom_hooks.0.hang_at=5',
              'custom_hooks.0.hang_once=True', 'custom_hooks.0.stall_data_rank=1',
              'custom_hooks.0.stall_data_at=7', 'custom_hooks.0.kill_rank=1',
              'custom_hooks.0.kill_at=11', 'custom_hooks.0.kill_restart=2'),
        procs=2, env=dict(MAX_RESTARTS='4', RESTORELAB_TEST_STALL_BEFORE_JOIN='1:3'))
    out, err = _finish(proc, timeout=800)
    blocked, no_data, never_joined = _paragraphs(err, 3)

    assert re.search(r'rank 1 made no progress for \d+ s in the forward/backward pass of '
                     r'iteration 5', blocked), blocked
    assert 'rank 0 waits in a collective (gradient all-reduce) of iteration 5' in blocked
    assert f'watchdog_timeout={TIMEOUT} s' in blocked
    assert 'torchrun restarts the processes (restart 1 of 4)' in blocked
    logs = [_assert_logged(blocked, 'fault_hooks.py", line', 'in before_train_iter')]

    assert re.search(r'rank 1 made no progress for \d+ s in loading the data of iteration \d+',
                     no_data), no_data
    assert 'rank 0 waits in a collective' in no_data
    assert 'torchrun restarts the processes (restart 2 of 4)' in no_data
    logs.append(_assert_logged(no_data, 'in _get_data'))  # rank 1 waits for its worker's batch
    stalled_worker = int(open(osp.join(work, 'stalled_data')).read())
    with pytest.raises(ProcessLookupError):  # ended with its rank, not left behind
        os.kill(stalled_worker, 0)

    killed = int(open(osp.join(work, 'killed_rank1')).read())
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    assert int(open(osp.join(work, 'pid_rank1')).read()) != killed  # a new group finished

    assert re.search(r'rank 1 made no progress for \d+ s in start-up[;.]', never_joined), \
        never_joined
    assert 'rank 0 waits in joining the process group (init_process_group)' in never_joined
    assert 'torchrun restarts the processes (restart 4 of 4)' in never_joined
    logs.append(_assert_logged(never_joined, 'in _stall_before_joining'))
    assert len(set(logs)) == 3  # each start's stacks in a log of its own

    for restart in (1, 2, 4):  # restart 3 never got past joining
        assert f'restart {restart} of this run: resuming from the newest complete checkpoint' \
            in out + err
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


def _assert_stopped_by(signame, proc, work, stops=1, timeout=300):
    """``proc`` (tools/dist_train.sh on ``work``) stopped by ``signame``: exit 128 + N without a
    traceback, one message, last on the screen, naming the checkpoint saved once by rank 0 (the
    only checkpoints are iter_*.pth) and the command that continues; both ranks stopped there
    with the same weights; torchrun's log says so (the ``stops``-th time in this work dir). The
    iteration it stopped at, and the output."""
    signum = getattr(signal, signame)
    out, err = proc.communicate(timeout=timeout)
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
    assert ends[0]['param_sum'] == ends[1]['param_sum']
    assert open(osp.join(work, 'last_checkpoint')).read() == checkpoint
    assert all(f.startswith('iter_') for f in os.listdir(work) if f.endswith('.pth'))
    assert (out + err).count(f'{signame} received: saving a checkpoint at iteration {step}') == 1
    torchrun_log = open(osp.join(work, 'torchrun.log')).read()  # torchrun's own messages
    assert torchrun_log.count(f'stopped by {signame}') == stops
    return step, out + err


def _trained_up_to(work, rank):
    """The last iteration ``rank`` recorded (0 before the first; the file may be being
    written)."""
    try:
        return max(trained_keys(work, rank), default=0)
    except (OSError, ValueError):
        return 0


def test_sigint_and_sigterm_to_dist_train_save_once_exit_128_plus_n_and_resume(root, straight,
                                                                               tmp_path):
    """One run stopped three times, each resumed with --resume: SIGINT to the launcher's process
    group (Ctrl-C), SIGTERM to the launcher and each process (a scheduler's preemption), SIGTERM to
    the launcher alone (torchrun forwards it); it ends with the uninterrupted run's batches and
    weights."""
    work = str(tmp_path / 'w')
    proc = popen_train(_args(root, work), procs=2, new_session=True)
    wait_for_file(osp.join(work, 'iter_3.pth'), proc)
    os.killpg(proc.pid, signal.SIGINT)  # the terminal signals its foreground process group
    stopped = [_assert_stopped_by('SIGINT', proc, work)[0]]

    for stops, targets in ((1, 'every process'), (2, 'the launcher')):
        proc = popen_train(_args(root, work, flags=['--resume']), procs=2)
        # Once both processes of the resumed run trained an iteration (and wrote their pids).
        wait_for(lambda: min(_trained_up_to(work, r) for r in (0, 1)) > stopped[-1], proc,
                 'an iteration of the resumed run')
        pids = [proc.pid]
        if targets == 'every process':
            pids += [int(open(osp.join(work, f'pid_rank{r}')).read()) for r in (0, 1)]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        step, log = _assert_stopped_by('SIGTERM', proc, work, stops=stops)
        assert f'continues at position {stopped[-1] * 4} of its stream' in log
        assert stopped[-1] < step < 12
        stopped.append(step)

    proc = popen_train(_args(root, work, flags=['--resume']), procs=2)
    out, err = _finish(proc)
    assert f'continues at position {stopped[-1] * 4} of its stream' in out + err
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
