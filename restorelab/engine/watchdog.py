"""A progress watchdog: a run that stops making progress ends, with its stacks and one paragraph,
instead of hanging.

Each process records its progress with :func:`report_progress`: a phase (``PHASES``: start-up,
rendezvous, data, forward/backward, collective, checkpoint, evaluation), the iteration and the
time. The training loop, :class:`~restorelab.engine.hooks.WatchdogHook`, checkpoint writes (per
chunk), validation and testing (per batch), DDP's gradient all-reduce and the launch path report
it. A monitor thread (:class:`Watchdog`) notices when no progress was made for ``timeout``
seconds. In a run of several processes the processes share their progress through the process
group's key-value store (torchrun's agent store, or rank 0's): the run has stalled when *no*
process made progress for ``timeout`` seconds, so a process that waits in a collective while
another saves a checkpoint or validates (and reports it) never trips it.

On a stall every process writes the Python stack of each of its threads to the log
(:mod:`faulthandler`), one of them prints one paragraph naming the process that stopped, its
phase, its iteration and how long it waited, and every process exits with status
``STALL_EXIT_STATUS``, the others only once that paragraph is printed (torchrun stops every
process of a group as soon as one of them ends, which could stop the printing one before it
printed): torchrun (``MAX_RESTARTS``) then restarts the group, which resumes from the newest
complete checkpoint; without restarts the paragraph ends with the command that continues the
run.

The timeout is ``watchdog_timeout`` (config, ``--watchdog-timeout``) when set, else derived from
the measured training iterations: ``max(ITERATION_FACTOR x the median iteration, FLOOR)``. 0
switches the watchdog off. A single step that reports nothing (one iteration, one evaluated
batch, one checkpoint chunk of ``restorelab.engine.atomic_io``) must take less than the timeout.

If the monitor thread itself cannot run (a native call holding the GIL), a second, native timer
(``faulthandler.dump_traceback_later``, armed by the tools) writes the stacks to the log and ends
the process ``FALLBACK_GRACE`` seconds after the timeout.
"""
import collections
import contextlib
import datetime
import faulthandler
import json
import os
import os.path as osp
import socket
import statistics
import sys
import tempfile
import threading
import time

# Phase names and how the paragraph speaks of them.
PHASES = {
    'start-up': 'start-up',
    'rendezvous': 'joining the process group',
    'data': 'loading the data',
    'forward/backward': 'the forward/backward pass',
    'collective': 'a collective',
    'checkpoint': 'a checkpoint',
    'evaluation': 'evaluation',
}
# Phases in which a process waits for the others: a stall there is not its own.
WAITING_PHASES = ('rendezvous', 'collective')

FLOOR = 600.0  # seconds: the least derived timeout
ITERATION_FACTOR = 10  # the derived timeout is this many median iterations (or FLOOR)
STALL_EXIT_STATUS = 1
FALLBACK_GRACE = 60.0  # the native timer fires this long after the timeout
# Seconds a process that does not print the paragraph of a stall waits for it, beyond the time
# the printing process waits for the others' records.
REPORT_GRACE = 5.0
# The environment variable naming the file of the launcher's log, mentioned in the paragraph.
LAUNCHER_LOG_ENV = 'RESTORELAB_LAUNCHER_LOG'


def check_timeout(value, name='watchdog_timeout'):
    """``value`` as a float (None stays None: derived); ValueError for anything but None or a
    number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or \
            value != value:
        raise ValueError(f'{name} must be a number of seconds >= 0 (0 switches the watchdog off) '
                         f'or None (derived from the iteration time), got {value!r}')
    return float(value)


def _env_int(*names, default=None):
    for name in names:
        value = os.environ.get(name, '')
        if value.lstrip('-').isdigit():
            return int(value)
    return default


def _rank_and_world():
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return (_env_int('RANK', 'SLURM_PROCID', default=0),
            _env_int('WORLD_SIZE', 'SLURM_NTASKS', default=1))


def describe(phase, iteration=None, detail=None):
    """``phase`` in words, with its detail and iteration: 'loading the data of iteration 4'."""
    text = PHASES.get(phase, phase)
    if detail:
        text += f' ({detail})'
    if iteration is not None:
        text += f' of iteration {iteration}'
    return text


class Progress:
    """What one process last did: phase, detail, iteration, when (``time.monotonic``) and how
    many reports so far. Thread-safe: DDP's communication hook reports from autograd's thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self.phase, self.detail, self.iteration = 'start-up', None, None
        self.count = 0
        self.last = time.monotonic()
        self.longest_gap = (0.0, None)  # (seconds, the phase it was spent in) between reports

    def report(self, phase, iteration=None, detail=None):
        with self._lock:
            gap = time.monotonic() - self.last
            if gap > self.longest_gap[0]:
                self.longest_gap = (gap, describe(self.phase, self.iteration, self.detail))
            self.phase, self.detail = phase, detail
            if iteration is not None:
                self.iteration = iteration
            self.count += 1
            self.last = time.monotonic()

    def snapshot(self):
        with self._lock:
            return dict(phase=self.phase, detail=self.detail, iteration=self.iteration,
                        count=self.count, last=self.last)


class GroupView:
    """The progress of every process of a distributed run, through a key-value store.

    Each process adds 1 to one shared counter when it made progress since the last poll; a
    process sees the group progress when the counter changes. Keys live under a prefix of the
    run and its restart (torchrun's agent store outlives the processes). On a stall the
    processes exchange their records (phase, iteration, seconds without progress) so that one
    paragraph names them all.
    """

    def __init__(self, rank, world_size, store=None, connect_timeout=2.0):
        self.rank, self.world_size = rank, world_size
        self.connect_timeout = connect_timeout
        self.store = store
        self.broken = None  # the error that made the store unusable
        self._published = -1
        self._seen = None
        self.last_change = None

    @staticmethod
    def prefix():
        run = os.environ.get('TORCHELASTIC_RUN_ID') or os.environ.get('SLURM_JOB_ID') or 'run'
        restart = _env_int('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT', default=0)
        return f'restorelab/watchdog/{run}/{restart}/'

    @classmethod
    def can_connect(cls):
        """Whether the store is there: torchrun's agent store from the start, rank 0's once the
        process group is up."""
        import torch.distributed as dist
        if not (os.environ.get('MASTER_ADDR') and os.environ.get('MASTER_PORT')):
            return False
        if os.environ.get('TORCHELASTIC_USE_AGENT_STORE', '').lower() == 'true':
            return True
        return dist.is_available() and dist.is_initialized()

    def connect(self):
        """Connect to the store (a client of its own); False when not (yet) possible."""
        if self.store is not None:
            return True
        if not self.can_connect():
            return False
        import torch.distributed as dist
        try:
            tcp = dist.TCPStore(os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']),
                                is_master=False, wait_for_workers=False,
                                timeout=datetime.timedelta(seconds=self.connect_timeout))
        except Exception as err:  # noqa: BLE001 - not yet there; tried again at the next poll
            self.broken = err
            return False
        self.store = dist.PrefixStore(self.prefix(), tcp)
        self.broken = None
        return True

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as err:  # noqa: BLE001 - the store went away: local view from now on
            self.broken, self.store = err, None
            return None

    def poll(self, own_count, now):
        """Publish this process's progress, read the group's; returns the time of the group's
        last progress seen (None without a store)."""
        if self.store is None and not self.connect():
            return None
        if own_count != self._published:
            if self._call(self.store.add, 'progress', 1) is None:
                return None
            self._published = own_count
        seen = self._call(self.store.add, 'progress', 0)
        if seen is None:
            return None
        if seen != self._seen:
            self._seen, self.last_change = seen, now
        return self.last_change

    def tripped(self):
        """Whether a process of the group has declared a stall."""
        if self.store is None:
            return False
        return bool(self._call(self.store.check, ['tripped']))

    def claim_report(self):
        """Declare the stall; True for the first process to do so (it prints the paragraph)."""
        if self.store is None:
            return True
        value = self._call(self.store.add, 'tripped', 1)
        return value is None or value == 1

    def put_record(self, record):
        if self.store is not None:
            self._call(self.store.set, f'record/{self.rank}', json.dumps(record))

    def mark_reported(self):
        """Say that the paragraph of the stall is on the screen."""
        if self.store is not None:
            self._call(self.store.set, 'reported', '1')

    def wait_reported(self, wait):
        """Wait up to ``wait`` seconds for the paragraph (:meth:`mark_reported`); whether it
        came."""
        deadline = time.monotonic() + wait
        while self.store is not None:
            if self._call(self.store.check, ['reported']):
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return False

    def records(self, wait):
        """{rank: record} of the processes that answered within ``wait`` seconds."""
        out = {}
        deadline = time.monotonic() + wait
        while self.store is not None:
            for rank in range(self.world_size):
                key = f'record/{rank}'
                if rank not in out and self._call(self.store.check, [key]):
                    value = self._call(self.store.get, key)
                    if value is not None:
                        out[rank] = json.loads(value)
            if len(out) == self.world_size or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return out


def _exit_after_stall(stall):
    """The default reaction to a stall: end this process's DataLoader workers (a worker that
    hangs would outlive it) and exit with ``STALL_EXIT_STATUS`` at once (the main thread is
    stuck and cannot be asked)."""
    import multiprocessing
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    for child in multiprocessing.active_children():
        try:
            child.kill()
        except Exception:  # noqa: BLE001
            pass
    os._exit(STALL_EXIT_STATUS)


class Watchdog:
    """Records this process's progress and watches it (and its group's) from a thread.

    Args:
        timeout (float | None): seconds without progress that end the run; None derives it
            from the training iterations (see the module doc), 0 switches the watchdog off.
        poll (float | None): seconds between checks (default: a twentieth of the timeout,
            between 0.2 and 5 s).
        on_stall (callable | None): called with the :class:`Stall` after the stacks and the
            paragraph are written; default: end the process with ``STALL_EXIT_STATUS``.
        fallback (bool): arm the native timer of the module doc (tools do; it is
            process-wide).
    """

    def __init__(self, timeout=None, poll=None, on_stall=None, fallback=False):
        self.setting = check_timeout(timeout)
        self._poll = poll
        self.on_stall = on_stall or _exit_after_stall
        self.fallback = fallback
        self.progress = Progress()
        self.iteration_times = collections.deque(maxlen=100)
        self._last_iteration_end = None
        self.log_file = None  # the run's log; before it exists, work_dir/watchdog.log
        self.work_dir = None
        self.next_step = None  # what to do after a stall without restarts (set by the tools)
        self.group = None
        self._group_checked = False
        self.stalled = None
        self.tripping = False  # set as a stall is being reported (before ``stalled``)
        self._stop = threading.Event()
        self._thread = None
        self._fallback_file = self._fallback_path = None

    # ------------------------------------------------------------------ settings
    def configure(self, timeout=..., log_file=..., work_dir=..., next_step=...):
        """Change what was given (``...`` leaves a setting as it is)."""
        if timeout is not ...:
            self.setting = check_timeout(timeout)
        if log_file is not ...:
            self.log_file = log_file
        if work_dir is not ...:
            self.work_dir = work_dir
        if next_step is not ...:
            self.next_step = next_step
        return self

    @property
    def timeout(self):
        """Seconds without progress that end the run now (0: off)."""
        if self.setting is not None:
            return self.setting
        if not self.iteration_times:
            return FLOOR
        return max(ITERATION_FACTOR * statistics.median(self.iteration_times), FLOOR)

    @property
    def derived(self):
        return self.setting is None

    @property
    def poll(self):
        if self._poll is not None:
            return self._poll
        timeout = self.timeout or FLOOR
        return min(max(timeout / 20, 0.2), 5.0)

    def log_path(self):
        """Where the stacks and the paragraph go: the run's log, else work_dir/watchdog.log,
        else None (stderr)."""
        if self.log_file:
            return self.log_file
        if self.work_dir:
            return osp.join(self.work_dir, 'watchdog.log')
        return None

    # ------------------------------------------------------------------ recording
    def report(self, phase, iteration=None, detail=None):
        self.progress.report(phase, iteration, detail)

    def iteration_done(self):
        """A training iteration ended: its duration feeds the derived timeout."""
        now = time.monotonic()
        if self._last_iteration_end is not None:
            self.iteration_times.append(now - self._last_iteration_end)
        self._last_iteration_end = now

    # ------------------------------------------------------------------ monitor
    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name='restorelab-watchdog',
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        self._disarm_fallback()

    def _run(self):
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception as err:  # noqa: BLE001 - the watchdog must not end a healthy run
                _write(self.log_path(), f'watchdog: check failed: {err!r}\n')

    def _group_view(self):
        if self.group is None and not self._group_checked:
            rank, world = _rank_and_world()
            if world > 1:
                self.group = GroupView(rank, world)
            else:
                import torch.distributed as dist
                self._group_checked = dist.is_available() and dist.is_initialized()
        return self.group

    def check(self, now=None):
        """One look: trip when this process (or its group) made no progress for the timeout,
        or when another process of the group declared a stall."""
        now = time.monotonic() if now is None else now
        own = self.progress.snapshot()
        since = own['last']
        group = self._group_view()
        if group is not None:
            seen = group.poll(own['count'], now)
            if seen is not None:
                since = max(since, seen)
        quiet = now - since
        timeout = self.timeout
        if group is not None and group.tripped():
            return self._trip(quiet, timeout, own, follower=True)
        if timeout and quiet > timeout:
            return self._trip(quiet, timeout, own)
        self._arm_fallback(timeout)
        return None

    # ------------------------------------------------------------------ a stall
    def _record(self, own, now):
        rank, world = _rank_and_world()
        return dict(rank=rank, world_size=world, host=socket.gethostname(), pid=os.getpid(),
                    phase=own['phase'], detail=own['detail'], iteration=own['iteration'],
                    idle=round(now - own['last'], 1), log=self.log_path())

    def _trip(self, quiet, timeout, own, follower=False):
        self.tripping = True
        self._disarm_fallback()
        now = time.monotonic()
        record = self._record(own, now)
        group = self.group
        shared = group is not None and group.store is not None
        reporter = not follower
        if shared:
            reporter = group.claim_report() and not follower
        # The stacks before the record: a record in the store says that this process's stacks
        # are in the log. torchrun stops the other processes of a group as soon as one of them
        # ends, so the reporter waits for the others' records, and the others wait for its
        # paragraph (both bounded), before any of them ends.
        self.write_stacks(record)
        if shared:
            group.put_record(record)
        records_wait = min(max(3 * self.poll, 2.0), 10.0)
        paragraph = None
        if reporter:
            records = {record['rank']: record}
            if shared:
                records.update(group.records(wait=records_wait))
            paragraph = self.paragraph(quiet, timeout, records, asked=shared)
            _write(self.log_path(), paragraph + '\n')
            print(paragraph, file=sys.stderr, flush=True)
            if shared:
                group.mark_reported()
        elif shared:
            group.wait_reported(records_wait + REPORT_GRACE)
        self.stalled = Stall(record=record, quiet=quiet, timeout=timeout, paragraph=paragraph,
                             reporter=reporter)
        self._stop.set()
        self.on_stall(self.stalled)
        return self.stalled

    def ends_in_stall(self, wait=30.0):
        """For a tool's signal or error handler: whether this process is being ended by a stall,
        its own or one another process of the group declared. The signal is then torchrun
        stopping the group after the stall's first process ended; the error, a collective that
        lost that process. It waits up to ``wait`` seconds for the watchdog to finish its report
        (a process that has not tripped yet does so as a follower at its next look), which ends
        the process: the watchdog's paragraph, not a stop or error message, is the last word."""
        if not self.tripping and not (self.group is not None and self.group.tripped()):
            return False
        deadline = time.monotonic() + wait
        while self.stalled is None and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def write_stacks(self, record):
        """Append the Python stack of every thread of this process to the log, in one write."""
        where = describe(record['phase'], record['iteration'], record['detail'])
        head = (f'watchdog: stacks of rank {record["rank"]} (pid {record["pid"]} on '
                f'{record["host"]}), in {where}, {record["idle"]:.1f} s without progress of its '
                'own:\n')
        with tempfile.TemporaryFile(mode='w+') as tmp:
            faulthandler.dump_traceback(file=tmp, all_threads=True)
            tmp.flush()
            tmp.seek(0)
            stacks = tmp.read()
        _write(self.log_path(), head + stacks + '\n')

    def paragraph(self, quiet, timeout, records, asked=True):
        """The one paragraph of a stall, from the records of the processes that answered
        (``asked``: the others were asked through the store)."""
        how = (f'watchdog_timeout={timeout:g} s, derived from the iteration time' if self.derived
               else f'watchdog_timeout={timeout:g} s')
        world = max([r.get('world_size', 1) for r in records.values()] + [1])
        if world == 1:
            (rec,) = records.values()
            text = (f'error: the watchdog stopped this run: it made no progress for {quiet:.0f} s '
                    f'({how}) in {describe(rec["phase"], rec["iteration"], rec["detail"])}.')
        else:
            stuck = [r for r in records.values() if r['phase'] not in WAITING_PHASES] or \
                list(records.values())
            waiting = [r for r in records.values() if r not in stuck]
            parts = [f'rank {r["rank"]} made no progress for {r["idle"]:.0f} s in '
                     f'{describe(r["phase"], r["iteration"], r["detail"])}'
                     for r in sorted(stuck, key=lambda r: r['rank'])]
            text = (f'error: the watchdog stopped this run: none of its {world} processes made '
                    f'progress for {quiet:.0f} s ({how}): ' + '; '.join(parts))
            if waiting:
                text += '; ' + ', '.join(
                    f'rank {r["rank"]} waits in {describe(r["phase"], r["iteration"], r["detail"])}'
                    for r in sorted(waiting, key=lambda r: r['rank']))
            missing = sorted(set(range(world)) - set(records))
            if missing and not asked:
                text += ' (the other processes could not be asked: no key-value store)'
            elif missing:
                text += (f'; rank{"s" if len(missing) > 1 else ""} '
                         f'{", ".join(map(str, missing))} did not answer (dead or frozen)')
            text += '.'
        logs = sorted({r['log'] for r in records.values() if r.get('log')})
        if logs:
            text += (' The Python stack of every thread of each process is in '
                     f'{" and ".join(logs)}.')
        else:
            text += ' The Python stack of every thread was written to stderr.'
        max_restarts = _env_int('TORCHELASTIC_MAX_RESTARTS', default=0)
        restart = _env_int('TORCHELASTIC_RESTART_COUNT', default=0)
        if restart < max_restarts:
            text += (f' torchrun restarts the processes (restart {restart + 1} of {max_restarts}),'
                     ' and they resume from the newest complete checkpoint.')
        elif self.next_step:
            text += f' {self.next_step}'
        launcher_log = os.environ.get(LAUNCHER_LOG_ENV)
        if world > 1 and launcher_log:
            text += f' torchrun\'s own messages are in {launcher_log}.'
        return text

    # ------------------------------------------------------------------ the native fallback
    def _arm_fallback(self, timeout):
        if not (self.fallback and timeout):
            return
        path = self.log_file  # not work_dir/watchdog.log: no file is made for nothing
        if path != self._fallback_path:
            if self._fallback_file is not None:
                self._fallback_file.close()
            self._fallback_file, self._fallback_path = None, path
            if path:
                try:
                    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
                    self._fallback_file = open(path, 'a')
                except OSError:
                    pass
        try:
            faulthandler.dump_traceback_later(timeout + FALLBACK_GRACE, exit=True,
                                              file=self._fallback_file or sys.stderr)
        except (OSError, ValueError):
            pass

    def _disarm_fallback(self):
        if self.fallback:
            faulthandler.cancel_dump_traceback_later()
        if self._fallback_file is not None:
            self._fallback_file.close()
        self._fallback_file = self._fallback_path = None

    def summary(self):
        """A sentence on the longest time between two progress reports of this process (what
        a fixed ``watchdog_timeout`` must exceed), for the end of a run."""
        gap, where = self.progress.longest_gap
        timeout = self.timeout
        setting = ('off' if not timeout else f'{timeout:g} s'
                   + (' (derived)' if self.derived else ''))
        return (f'watchdog: the longest time between two progress reports of this process was '
                f'{gap:.1f} s' + (f' (in {where})' if where else '')
                + f'; watchdog_timeout: {setting}')


class Stall:
    """What a watchdog saw when it tripped."""

    def __init__(self, record, quiet, timeout, paragraph, reporter):
        self.record, self.quiet, self.timeout = record, quiet, timeout
        self.paragraph, self.reporter = paragraph, reporter


def _write(path, text):
    """Append ``text`` to ``path`` in one write (O_APPEND: the processes' dumps do not
    interleave), or to stderr without a path."""
    if path:
        try:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            _flush_logging()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
            return
        except OSError:
            pass
    sys.stderr.write(text)
    sys.stderr.flush()


def _flush_logging():
    import logging
    loggers = [lg for lg in logging.Logger.manager.loggerDict.values()
               if isinstance(lg, logging.Logger)]
    for logger in [logging.getLogger()] + loggers:
        for handler in logger.handlers:
            try:
                handler.flush()
            except Exception:  # noqa: BLE001
                pass


# ---------------------------------------------------------------------- the process's watchdog
_current = None
_current_lock = threading.Lock()


def start_watchdog(timeout=None, **kwargs):
    """Start this process's watchdog (:class:`Watchdog` arguments) and return it; when one is
    running already, return that one (with ``timeout`` applied when given)."""
    global _current
    with _current_lock:
        if _current is not None:
            if timeout is not None:
                _current.configure(timeout=timeout)
            return _current
        _current = Watchdog(timeout=timeout, **kwargs).start()
        return _current


def current_watchdog():
    """This process's watchdog, or None."""
    return _current


def stop_watchdog():
    """Stop this process's watchdog (if any)."""
    global _current
    with _current_lock:
        dog, _current = _current, None
    if dog is not None:
        dog.stop()


def report_progress(phase, iteration=None, detail=None):
    """Record progress on this process's watchdog (nothing without one)."""
    dog = _current
    if dog is not None:
        dog.report(phase, iteration, detail)


@contextlib.contextmanager
def watching(timeout=None, **kwargs):
    """This process's watchdog for the duration of the block (started and stopped here unless
    one was running already)."""
    started = _current is None
    dog = start_watchdog(timeout=timeout, **kwargs)
    try:
        yield dog
    finally:
        if started:
            stop_watchdog()


def reporting_allreduce_hook(state, bucket):
    """DDP's default gradient all-reduce as a communication hook that first records the
    'collective' phase (DDP calls it once per gradient bucket)."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    report_progress('collective', detail='gradient all-reduce')
    return allreduce_hook(state, bucket)
