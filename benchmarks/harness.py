"""The measuring harness every script in ``benchmarks/`` uses.

Timing (wall or CPU clock, first run and steady state, interleaved implementations), peak memory,
output agreement in dB, thread count and the machine's description are
:mod:`restorelab.utils.profiling`'s, re-exported here (``tools/analysis/speed.py`` uses the same
module). This file adds what only the benchmarks need: running a measurement in a fresh process
(:func:`fresh_process`), the inputs and steps the speed benchmarks time (:func:`make_input`,
:func:`make_runner`), the common command-line options (:func:`add_record_options`) and the results
records under ``benchmarks/results/``.

A results record is one JSON file per measurement, ``benchmarks/results/<name>.json``; ``<name>``
is the script's name, with ``-<variant>`` for a smaller run (``drsformer_speed-small.json``;
``--dry-run`` writes ``<script>-dry-run.json``, which git ignores) or what ``--record NAME`` says::

    {"name": ..., "script": ..., "command": ..., "commit": ..., "dirty": ..., "date": ...,
     "seconds": ..., "machine": {"cpu", "cores", "load_average", "load_average_start", "python",
     "system", "torch", "threads", ...}, "results": {...}}

``benchmarks/report.py`` renders the docs' tables from these records; a number reaches the
docs only that way.
"""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / 'benchmarks' / 'results'
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from restorelab.utils import profiling  # noqa: E402
from restorelab.utils.profiling import (CLOCKS, agreement_db, begin, interleaved, load_average,  # noqa: E402,F401
                                        machine, max_abs_diff, peak_memory_mb, repeated, set_threads,
                                        summary, sync, timed)

psnr = agreement_db  # the name the equivalence adapters import: one implementation


# ------------------------------------------------------------------ records

def run_record(name, results, argv=None, begun=None):
    """The record of one run of the calling script (see the module docstring)."""
    return profiling.run_record(name, results, argv, begun, root=REPO_ROOT)


def write_record(name, results, out_dir=None, argv=None, begun=None):
    """Write ``results`` with its run record to ``<out_dir>/<name>.json`` (default
    ``benchmarks/results/``); returns the path."""
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR
    return profiling.write_json(out_dir / f'{name}.json', run_record(name, results, argv, begun))


def read_record(name, results_dir=None):
    """The record ``<results_dir>/<name>.json`` as a dict (``FileNotFoundError`` when absent)."""
    path = (Path(results_dir) if results_dir is not None else RESULTS_DIR) / f'{name}.json'
    return json.loads(path.read_text())


def add_record_options(parser, dry_run_help='the smallest run, in seconds (a check of the script)'):
    """``--dry-run``, ``--record NAME`` and ``--results-dir DIR``, the options every benchmark takes."""
    parser.add_argument('--dry-run', action='store_true', help=dry_run_help)
    parser.add_argument('--record', metavar='NAME',
                        help='name of the results record (default: the script\'s name, with '
                        '-small / -dry-run for those runs)')
    parser.add_argument('--results-dir', metavar='DIR', default=None,
                        help=f'where the record goes (default {RESULTS_DIR.relative_to(REPO_ROOT)})')
    return parser


def record_name(args, script, variant=None):
    """The record's name: ``--record`` if given, else ``script``, ``script-dry-run`` or
    ``script-<variant>``."""
    if args.record:
        if not all(c.isalnum() or c in '-_.' for c in args.record) or args.record.startswith('.'):
            raise SystemExit(f'--record {args.record!r}: expected a file name of letters, digits, '
                             "'-', '_' and '.'")
        return args.record
    if getattr(args, 'dry_run', False):
        return f'{script}-dry-run'
    return f'{script}-{variant}' if variant else script


def finish(args, script, results, begun, variant=None, argv=None):
    """Write the run's record (name from :func:`record_name`) and say where. ``argv``: the
    arguments the script's ``main`` was given (None: the command line's)."""
    argv = [str(Path(__file__).resolve().parent / f'{script}.py'), *(sys.argv[1:] if argv is None else argv)]
    path = write_record(record_name(args, script, variant), results, args.results_dir, argv=argv, begun=begun)
    print(f'record: {path}', flush=True)
    return path


# ------------------------------------------------------------------ fresh processes

def emit(result):
    """(In a child) print ``result`` as the JSON line :func:`fresh_process` reads."""
    print(json.dumps(result), flush=True)


def fresh_process(script, args, threads, env=None, timeout=None):
    """Run ``script`` with ``args`` in a fresh Python process at ``threads`` torch threads; the JSON
    object on the last line of its output (:func:`emit`)."""
    env = {**os.environ, **(env or {}), 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    cmd = [sys.executable, str(script), *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode:
        raise SystemExit(f'{" ".join(cmd)} failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
    lines = result.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f'{" ".join(cmd)} printed no JSON result; its output ended with:\n'
                         f'{result.stdout[-2000:]}')


def measure_here(run, runs, warmup=1, clock='wall', memory=True):
    """(In a fresh process) time ``warmup + runs`` calls of ``run``; with ``memory`` the first call
    also gives the peak resident-set growth (``peak_mb``). A dict for :func:`emit`."""
    times = []
    if memory:
        (seconds, _), peak = peak_memory_mb(lambda: timed(run, clock))
        times.append(seconds)
    while len(times) < warmup + runs:
        times.append(timed(run, clock)[0])
    out = summary(times, warmup)
    if memory:
        out['peak_mb'] = peak
    return out


def peak_memory_of_command(cmd, cwd=None, env=None, interval=0.02):
    """Run ``cmd`` (output discarded, errors shown when it fails); ``(peak resident set, peak
    anonymous memory)`` of its process in MiB. The first is ``wait4``'s ``ru_maxrss`` (the whole
    process from start to exit, file-backed pages included: the shared libraries' pages the kernel
    maps around each fault, more of them when other processes have read those files, so it moves
    with what else runs). The second is ``RssAnon`` (the process's own heap and tensors) sampled
    every ``interval`` seconds (None where Linux does not tell it)."""
    from restorelab.utils.procfs import status_kb
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    err = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    anon = None
    while True:
        kb = status_kb('RssAnon', proc.pid)
        anon = anon if kb is None else max(anon or 0, kb)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(interval)
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f'{" ".join(map(str, cmd))} failed:\n{"".join(err)[-3000:]}')
    return usage.ru_maxrss / 1024, None if anon is None else anon / 1024


def peak_memory_child(script, args, threads):
    """The peak resident-set growth (MiB) that a fresh process running ``script args`` reports
    (its ``peak_mb``)."""
    return fresh_process(script, args, threads)['peak_mb']


# ------------------------------------------------------------------ what the speed benchmarks time

def make_input(kind, shape, multiple=8):
    """Random images for a case: ``(x, None)`` for inference, reflect-padded to a multiple of
    ``multiple`` as ImageRestorer pads; ``(x, gt)`` for a training step. ``shape`` is (N, H, W)."""
    import torch
    import torch.nn.functional as F
    gen = torch.Generator().manual_seed(1)
    n, h, w = shape
    x = torch.rand(n, 3, h, w, generator=gen)
    if kind == 'infer':
        return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode='reflect'), None
    return x, torch.rand(n, 3, h, w, generator=gen)


def make_runner(model, kind, x, gt, bf16=False):
    """A no-argument callable doing one inference (eval, no_grad) or one training step (train mode,
    forward, L1 loss, backward, AdamW step as the releases' recipe); it returns the output.
    ``bf16`` runs the forward under CPU bfloat16 autocast (what ``test_cfg.bf16`` and ``--amp`` do)."""
    import torch

    def forward():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            return model(x).float()

    if kind == 'infer':
        model.eval()

        def run():
            with torch.no_grad():
                return forward()
        return run
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)

    def run():
        optimizer.zero_grad(set_to_none=True)
        out = forward()
        (out - gt).abs().mean().backward()
        optimizer.step()
        return out.detach()
    return run
