"""How restorelab measures speed, memory and agreement: the one implementation behind
``benchmarks/harness.py`` (which re-exports it for the benchmark scripts) and
``tools/analysis/speed.py``.

* Time: :func:`timed` one call on the wall clock or the process's CPU clock (``clock='cpu'``:
  user + system time, which leaves out the waits for a core on a shared machine), with CUDA
  synchronised around it; :func:`summary` of a run's times: the first (what a user meets) and the
  steady state (the median of the runs after the warm-up); :func:`repeated` runs one callable,
  :func:`interleaved` several alternating in one process.
* Memory: :func:`peak_memory_mb` of one call: on the CPU the growth of the peak resident set
  (``VmHWM``, read through :mod:`restorelab.utils.procfs`) after handing the heap's free memory
  back (glibc ``malloc_trim``); on CUDA ``torch.cuda.max_memory_allocated`` minus what was
  allocated before.
* Agreement: :func:`agreement_db`, the PSNR in dB between two outputs (peak 1 by default).
* The record of a run: :func:`machine` (CPU model, cores, load average, torch and library
  versions), :func:`run_record` (command, commit and whether the tree was dirty, date, machine,
  results) and :func:`write_record`.

Two implementations timed in one process share glibc's allocator: its dynamic mmap threshold
rises after large frees, so whichever ran before changes what the next one pays for page faults.
The benchmarks therefore time implementations interleaved in one process and also each in its
own fresh process (``benchmarks/harness.py``: ``fresh_process``).
"""
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from restorelab.utils.procfs import malloc_trim, peak_rss_growth_mb

CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)
MEMORY_METHODS = dict(
    cuda='torch.cuda.max_memory_allocated during one call, minus the memory allocated before',
    cpu='growth of the peak resident set size (VmHWM, Linux /proc) during one call after '
        'malloc_trim',
)


def set_threads(n):
    """Use ``n`` torch threads in this process; returns ``n``. (A child process gets its count
    through ``OMP_NUM_THREADS``: ``benchmarks/harness.py``'s ``fresh_process``.)"""
    import torch
    n = int(n)
    if n < 1:
        raise ValueError(f'threads must be >= 1, got {n}')
    torch.set_num_threads(n)
    return n


def _device_type(device):
    if device is None:
        return 'cpu'
    return device if isinstance(device, str) and ':' not in device else str(device).split(':')[0]


def sync(device):
    """Wait for ``device``'s queued work (CUDA); nothing elsewhere."""
    if _device_type(device) == 'cuda':
        import torch
        torch.cuda.synchronize()


def timed(run, clock='wall', device=None):
    """``(seconds, output)`` of one call of ``run()`` on ``clock`` ('wall' or 'cpu'), CUDA work
    synchronised before and after."""
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {sorted(CLOCKS)}, got {clock!r}')
    now = CLOCKS[clock]
    sync(device)
    start = now()
    out = run()
    sync(device)
    return now() - start, out


def summary(times, warmup=1):
    """``dict(first=, steady=, times=)`` of one implementation's run times in order: the first run
    (what a user meets: first call included, model already built) and the steady state, the median
    of the runs after the first ``warmup`` (of all of them when there are no more)."""
    times = [float(t) for t in times]
    if not times:
        raise ValueError('summary of no times')
    rest = times[warmup:] or times
    return dict(first=round(times[0], 6), steady=round(statistics.median(rest), 6),
                times=[round(t, 6) for t in times])


def repeated(run, runs, warmup=1, clock='wall', device=None):
    """Call ``run`` ``warmup + runs`` times in this process: ``(summary, first output)``."""
    if runs < 1 or warmup < 0:
        raise ValueError(f'runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}')
    times, first = [], None
    for i in range(warmup + runs):
        seconds, out = timed(run, clock, device)
        times.append(seconds)
        if i == 0:
            first = out
    return summary(times, warmup), first


def interleaved(runners, runs, warmup=1, clock='wall', device=None):
    """Alternate ``{name: callable}`` in this process, ``warmup + runs`` rounds (each round calls
    every runner once, in order): ``({name: summary}, {name: output of its first call})``. The first
    outputs come from the same weights (a training step updates them afterwards)."""
    if runs < 1 or warmup < 0:
        raise ValueError(f'runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}')
    times, first = {name: [] for name in runners}, {}
    for r in range(warmup + runs):
        for name, run in runners.items():
            seconds, out = timed(run, clock, device)
            times[name].append(seconds)
            if r == 0:
                first[name] = out
    return {name: summary(t, warmup) for name, t in times.items()}, first


def peak_memory_mb(run, device='cpu', held=False):
    """``(output, MiB)``: the peak memory one call of ``run()`` takes on ``device``.

    CUDA: ``torch.cuda.max_memory_allocated`` during the call minus what was allocated before
    (with ``held``, not minus: the peak of everything allocated, weights and inputs included).
    CPU: the growth of the process's peak resident set during the call (VmHWM reset through
    ``/proc/self/clear_refs``), after glibc's heap has handed its free memory back, so that the call
    takes its working set again; what the allocator still keeps makes it a lower bound. None where
    Linux does not tell it."""
    if _device_type(device) == 'cuda':
        import torch
        sync(device)
        before = 0 if held else torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        out = run()
        sync(device)
        return out, (torch.cuda.max_memory_allocated(device) - before) / 2 ** 20
    malloc_trim()
    return peak_rss_growth_mb(run)


def _float64(x):
    import numpy as np
    if hasattr(x, 'detach'):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def agreement_db(a, b, peak=1.0):
    """PSNR in dB of output ``a`` against output ``b`` (tensors or arrays of one shape, compared
    in float64; ``peak`` is the signal's peak, 1 for images in [0, 1]); ``inf`` when equal."""
    import numpy as np
    a, b = _float64(a), _float64(b)
    if a.shape != b.shape:
        raise ValueError(f'agreement_db: shapes differ, {a.shape} and {b.shape}')
    mse = float(np.mean((a - b) ** 2))
    return float('inf') if mse == 0 else float(10 * np.log10(peak * peak / mse))


def max_abs_diff(a, b):
    """The largest absolute difference between two outputs (float64)."""
    import numpy as np
    return float(np.max(np.abs(_float64(a) - _float64(b)))) if _float64(a).size else 0.0


# ------------------------------------------------------------------ the record of a run

def load_average():
    """The system's load average over 1, 5 and 15 minutes (None where the OS does not tell it)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_model():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """What ran a measurement: CPU model and cores, the load average now, Python, torch (version,
    threads, GPU) and the libraries' versions."""
    info = dict(cpu=_cpu_model(), cores=os.cpu_count(), load_average=load_average(),
                python=platform.python_version(), system=platform.platform())
    try:
        import torch
        info.update(torch=torch.__version__, threads=torch.get_num_threads())
        if torch.cuda.is_available():
            info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda)
    except ImportError:
        pass
    for module in ('mmengine', 'numpy', 'onnxruntime'):
        if module == 'onnxruntime' and module not in sys.modules:
            continue  # only when the run used it (importing it takes a while)
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            continue
    return info


def _git(folder, *args):
    try:
        out = subprocess.run(['git', '-C', str(folder), *args], capture_output=True, text=True,
                             check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def repository_state(folder):
    """``(commit, dirty)`` of the git checkout holding ``folder``: its HEAD and whether its tracked
    files have uncommitted changes (``(None, None)`` outside a checkout or without git)."""
    commit = _git(folder, 'rev-parse', 'HEAD')
    status = _git(folder, 'status', '--porcelain', '--untracked-files=no') if commit else None
    return commit, None if status is None else bool(status)


def begin():
    """What a run records at its start: the date (UTC) and the load average. Pass it to
    :func:`run_record` so that the record tells the load before and after the measurement."""
    return dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                load_average=load_average(), clock=time.perf_counter())


def run_record(name, results, argv=None, begun=None, root=None):
    """The record of one run of the calling script: ``results`` with the command, the commit of
    the repository holding the script (and whether its tracked files had uncommitted changes),
    the date and duration, and the machine (with its load average at the start and at the end)."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    root = Path(root) if root is not None else None
    if root is None:
        top = _git(script.parent, 'rev-parse', '--show-toplevel')
        root = Path(top) if top else script.parent
    try:
        shown = script.relative_to(root)
    except ValueError:
        shown = script
    commit, dirty = repository_state(root)
    begun = begun or begin()
    info = machine()
    info['load_average_start'] = begun['load_average']
    return dict(
        name=name, script=str(shown),
        command=' '.join(shlex.quote(a) for a in ['python', str(shown), *argv[1:]]),
        commit=commit, dirty=dirty,
        date=begun['date'], seconds=round(time.perf_counter() - begun['clock'], 1),
        machine=info, results=results)


def write_json(path, record):
    """Write ``record`` as JSON to ``path`` atomically (a temporary file renamed); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(record, indent=1, default=_jsonable) + '\n')
    os.replace(tmp, path)
    return path


def _jsonable(value):
    if hasattr(value, 'item'):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def write_record(path, name, results, argv=None, begun=None, root=None):
    """:func:`run_record` of ``results`` written to ``path``; returns the path."""
    return write_json(path, run_record(name, results, argv, begun, root))
