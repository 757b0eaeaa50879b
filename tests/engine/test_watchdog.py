"""The progress watchdog on its own: a stall writes the stacks and one paragraph, progress keeps
it quiet, the timeout is derived from the iterations, a group of processes shares its progress
through a key-value store, and a native timer ends a process whose monitor cannot run."""
import datetime
import subprocess
import sys
import threading
import time

import pytest
import torch.distributed as dist

from restorelab.engine import watchdog
from restorelab.engine.atomic_io import WRITE_CHUNK, atomic_write_bytes


def _collecting():
    stalls = []
    return stalls, stalls.append


def test_a_stalled_process_writes_its_stacks_and_one_paragraph(tmp_path, capsys):
    stalls, on_stall = _collecting()
    log = str(tmp_path / 'run.log')
    dog = watchdog.Watchdog(timeout=0.3, poll=0.05, on_stall=on_stall)
    dog.configure(log_file=log, next_step='Once the cause is fixed, continue with `X --resume`.')
    dog.report('data', 4)
    dog.start()
    deadline = time.monotonic() + 30
    while not stalls and time.monotonic() < deadline:
        time.sleep(0.05)
    dog.stop()
    assert len(stalls) == 1 and stalls[0].reporter
    paragraph = stalls[0].paragraph
    assert paragraph.startswith('error: the watchdog stopped this run: it made no progress for ')
    assert '(watchdog_timeout=0.3 s) in loading the data of iteration 4.' in paragraph
    assert f'The Python stack of every thread of each process is in {log}.' in paragraph
    assert paragraph.endswith('continue with `X --resume`.')
    text = open(log).read()
    assert 'watchdog: stacks of rank 0 (pid ' in text
    assert 'in loading the data of iteration 4' in text
    assert 'in test_a_stalled_process_writes_its_stacks_and_one_paragraph' in text  # main thread
    assert text.rstrip().endswith(paragraph)
    assert capsys.readouterr().err.strip() == paragraph  # the screen gets the paragraph only


def test_progress_keeps_it_quiet_and_zero_switches_it_off():
    stalls, on_stall = _collecting()
    dog = watchdog.Watchdog(timeout=0.5, poll=0.05, on_stall=on_stall)
    now = time.monotonic()
    for i in range(10):  # a report every 0.2 s for 2 s: never 0.5 s without progress
        dog.report('forward/backward', i)
        assert dog.check(now=time.monotonic()) is None
        dog.progress.last = now + 0.2 * i  # as if reported at these times
        assert dog.check(now=now + 0.2 * i + 0.4) is None
    assert dog.check(now=dog.progress.last + 0.6) is not None and len(stalls) == 1
    off = watchdog.Watchdog(timeout=0, on_stall=on_stall)
    assert off.check(now=time.monotonic() + 10 ** 6) is None and len(stalls) == 1


def test_timeout_is_derived_from_the_iterations_with_a_floor():
    dog = watchdog.Watchdog()
    assert dog.derived and dog.timeout == watchdog.FLOOR == 600
    dog.iteration_times.extend([2.0, 3.0, 100.0])  # median 3 s: 30 s, below the floor
    assert dog.timeout == 600
    dog.iteration_times.extend([90.0, 95.0])  # median 90 s
    assert dog.timeout == 900
    assert watchdog.Watchdog(timeout=7).timeout == 7
    with pytest.raises(ValueError, match='watchdog_timeout must be a number of seconds >= 0'):
        watchdog.check_timeout(-1)
    with pytest.raises(ValueError, match="got '5'"):
        watchdog.check_timeout('5')


def test_checkpoint_writes_report_progress_per_chunk(tmp_path):
    with watchdog.watching(timeout=0) as dog:
        before = dog.progress.count
        atomic_write_bytes(str(tmp_path / 'iter_1.pth'), b'x' * (3 * WRITE_CHUNK + 5))
        after = dog.progress.snapshot()
    assert after['count'] - before == 5  # four chunks and the sync
    assert after['phase'] == 'checkpoint' and after['detail'] == 'syncing iter_1.pth'
    assert watchdog.current_watchdog() is None  # stopped at the end of the block


@pytest.fixture
def store():
    master = dist.TCPStore('127.0.0.1', 0, is_master=True, wait_for_workers=False,
                           timeout=datetime.timedelta(seconds=10))
    return master


def _member(store, rank, on_stall, log):
    dog = watchdog.Watchdog(timeout=1.0, poll=0.05, on_stall=on_stall)
    dog.configure(log_file=log)
    dog.group = watchdog.GroupView(rank, 2, store=dist.PrefixStore('test/', store))
    dog.check()  # publishes the first progress
    return dog


def test_a_group_trips_only_when_no_process_progresses(tmp_path, store, monkeypatch):
    log = str(tmp_path / 'run.log')
    stalls, ended_with_log = [], []

    def on_stall(stall):  # where a process would end: what the log held then
        stalls.append(stall)
        ended_with_log.append(open(log).read())

    waiting, stuck = _member(store, 0, on_stall, log), _member(store, 1, on_stall, log)
    stuck.report('data', 7)
    start = time.monotonic()
    # Rank 0 saves a checkpoint for 3 timeouts, reporting each chunk; rank 1 waits for it.
    for step in range(30):
        now = start + 0.1 * step
        waiting.report('checkpoint', detail='writing iter_6.pth')
        waiting.progress.last = now
        assert waiting.check(now=now) is None
        assert stuck.check(now=now) is None, step  # the group progresses: no false alarm
    # Then rank 0 waits in a collective for rank 1, which stopped loading data: both trip,
    # one paragraph names rank 1.
    now += 0.1
    waiting.report('collective', 7, detail='gradient all-reduce')
    waiting.progress.last = now
    assert waiting.check(now=now) is None and stuck.check(now=now) is None
    later = now + 1.5
    monkeypatch.setattr(watchdog, '_rank_and_world',
                        lambda: (int(threading.current_thread().name[-1]), 2))
    threads = [threading.Thread(target=dog.check, kwargs=dict(now=later), name=f'member{r}')
               for r, dog in ((0, waiting), (1, stuck))]
    threads[0].start()
    time.sleep(0.3)
    threads[1].start()
    for t in threads:
        t.join(timeout=30)
    assert len(stalls) == 2
    reports = [s for s in stalls if s.reporter]
    assert len(reports) == 1
    paragraph = reports[0].paragraph
    assert 'none of its 2 processes made progress for ' in paragraph
    assert 'rank 1 made no progress for ' in paragraph
    assert 'in loading the data of iteration 7' in paragraph
    assert 'rank 0 waits in a collective (gradient all-reduce) of iteration 7' in paragraph
    text = open(log).read()
    assert 'watchdog: stacks of rank 0' in text and 'watchdog: stacks of rank 1' in text
    # Neither ended before the paragraph was written (torchrun stops a group's processes as
    # soon as one ends) and the reporter had the stacks of both (each writes its stacks before
    # its record).
    assert all(paragraph in seen for seen in ended_with_log)
    assert 'watchdog: stacks of rank 1' in text.split(paragraph)[0]


def test_native_timer_ends_a_process_whose_monitor_cannot_run(tmp_path):
    """A native call that keeps the GIL (libc's sleep through ctypes.PyDLL) stops the monitor
    thread too; faulthandler's timer writes the stacks and ends the process."""
    log = str(tmp_path / 'run.log')
    code = f'''
import ctypes, time
from restorelab.engine import watchdog
watchdog.FALLBACK_GRACE = 0.5
dog = watchdog.Watchdog(timeout=0.5, poll=0.05, fallback=True)
dog.configure(log_file={log!r})
dog.check()  # arms the timer, as each check of the monitor thread does
dog.start()
ctypes.PyDLL(None).sleep(60)
'''
    start = time.monotonic()
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr[-2000:]
    assert time.monotonic() - start < 60
    text = open(log).read()
    line = code.splitlines().index('ctypes.PyDLL(None).sleep(60)') + 1
    assert 'Timeout (0:00:01)!' in text and f'<string>", line {line}' in text  # the PyDLL call


def test_a_signal_during_a_stall_waits_for_the_watchdogs_report():
    """torchrun stops the group with SIGTERM as soon as the stall's first process ends: a
    tool's signal handler then lets the watchdog finish (its paragraph is the last word)."""
    dog = watchdog.Watchdog(timeout=5)
    assert dog.ends_in_stall(wait=0.1) is False  # an ordinary signal: the tool's own message
    dog.tripping = True
    threading.Timer(0.3, lambda: setattr(dog, 'stalled', 'reported')).start()
    start = time.monotonic()
    assert dog.ends_in_stall(wait=5) is True
    assert dog.stalled == 'reported' and 0.2 < time.monotonic() - start < 5


def test_an_error_after_another_process_declared_a_stall_waits_for_the_report(store):
    """Rank 0 waits in a collective while rank 1 stalls; rank 1's watchdog declares the stall
    and ends its process, so rank 0's collective fails before rank 0's own watchdog has looked
    again: the tool's error handler asks ends_in_stall and leaves the last word to the watchdog
    (which trips as a follower at its next look)."""
    dog = _member(store, 0, on_stall=lambda stall: None, log=None)
    assert dog.ends_in_stall(wait=0.1) is False  # an ordinary error: the tool's own message
    other = watchdog.GroupView(1, 2, store=dist.PrefixStore('test/', store))
    assert other.claim_report() is True  # rank 1 declares the stall
    threading.Timer(0.3, lambda: setattr(dog, 'stalled', 'reported')).start()
    start = time.monotonic()
    assert dog.ends_in_stall(wait=5) is True
    assert dog.stalled == 'reported' and 0.2 < time.monotonic() - start < 5
