"""The measuring harness every script in ``benchmarks/`` uses: the record of a run (command,
commit, date, machine) and results files under ``benchmarks/results/``.

A results record is one JSON file per measurement, ``benchmarks/results/<name>.json``::

    {"name": ..., "script": ..., "command": ..., "commit": ..., "dirty": ..., "date": ...,
     "machine": {...}, "results": {...}}

``benchmarks/report.py`` renders the docs' tables from these records; a number reaches the
docs only that way.
"""
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / 'benchmarks' / 'results'


def _git(*args):
    try:
        out = subprocess.run(['git', '-C', str(REPO_ROOT), *args], capture_output=True, text=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _cpu_model():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """What ran the measurement: CPU model and cores, Python, torch and the libraries."""
    info = dict(cpu=_cpu_model(), cores=os.cpu_count(), python=platform.python_version(),
                system=platform.platform())
    try:
        import torch
        info.update(torch=torch.__version__, threads=torch.get_num_threads())
        if torch.cuda.is_available():
            info['gpu'] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    for module in ('mmengine', 'numpy', 'onnxruntime'):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            continue
    return info


def run_record(name, results, argv=None):
    """The record of one run of the calling script: ``results`` with the command, the commit
    (and whether the tree had uncommitted changes), the date and the machine."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    try:
        script = script.relative_to(REPO_ROOT)
    except ValueError:
        pass
    status = _git('status', '--porcelain', '--untracked-files=no')
    return dict(
        name=name, script=str(script),
        command=' '.join(shlex.quote(a) for a in ['python', str(script), *argv[1:]]),
        commit=_git('rev-parse', 'HEAD'), dirty=bool(status) if status is not None else None,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        machine=machine(), results=results)


def write_record(name, results, out_dir=None, argv=None):
    """Write ``results`` with its run record to ``<out_dir>/<name>.json`` (default
    ``benchmarks/results/``); returns the path."""
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{name}.json'
    record = run_record(name, results, argv)
    tmp = path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps(record, indent=1, sort_keys=False) + '\n')
    os.replace(tmp, path)
    return path


def read_record(name, results_dir=None):
    """The record ``<results_dir>/<name>.json`` as a dict (``FileNotFoundError`` when absent)."""
    path = (Path(results_dir) if results_dir is not None else RESULTS_DIR) / f'{name}.json'
    return json.loads(path.read_text())


def psnr(a, b, peak=1.0):
    """PSNR in dB of tensor or array ``a`` against ``b`` (images in [0, peak]); inf when equal."""
    import numpy as np
    a = np.asarray(a.detach().cpu().double() if hasattr(a, 'detach') else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu().double() if hasattr(b, 'detach') else b, dtype=np.float64)
    mse = float(np.mean((a - b) ** 2))
    return float('inf') if mse == 0 else float(10 * np.log10(peak * peak / mse))
