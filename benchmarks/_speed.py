"""Helpers of the plain-versus-fast speed benchmarks (``restormer_speed.py``): inputs, one inference or
training step as a callable, timing, PSNR between outputs, peak memory of one run, and running a
measurement in a fresh process.

Two models timed in one process share glibc's allocator: its dynamic mmap threshold rises after
large frees, so whichever model ran before changes what the next one pays for page faults. The
benchmarks therefore time the two formulations interleaved in one process *and* each in its own
fresh process (:func:`run_child`).
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def make_input(kind, shape, multiple=8):
    """Random images for a case: ``(x, None)`` for inference, reflect-padded to a multiple of
    ``multiple`` as ImageRestorer pads; ``(x, gt)`` for a training step. ``shape`` is (N, H, W)."""
    gen = torch.Generator().manual_seed(1)
    n, h, w = shape
    x = torch.rand(n, 3, h, w, generator=gen)
    if kind == 'infer':
        return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode='reflect'), None
    return x, torch.rand(n, 3, h, w, generator=gen)


def make_runner(model, kind, x, gt):
    """A no-argument callable doing one inference (eval, no_grad) or one training step (train mode,
    forward, L1 loss, backward, AdamW step as the release's recipe); it returns the output."""
    if kind == 'infer':
        model.eval()

        def run():
            with torch.no_grad():
                return model(x)
        return run
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4)

    def run():
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        (out - gt).abs().mean().backward()
        optimizer.step()
        return out.detach()
    return run


def timed(run):
    """(seconds, output) of one call of ``run``."""
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def summary(times):
    """``dict(first=, median=, times=)``: the first run (what a user meets) and the median of the
    others (the steady state; the first one when there is no other)."""
    rest = times[1:] or times[:1]
    return dict(first=times[0], median=statistics.median(rest), times=[round(t, 3) for t in times])


def psnr(a, b):
    """PSNR in dB of ``a`` against ``b`` (peak 1: images in [0, 1])."""
    mse = (a.double() - b.double()).pow(2).mean().item()
    return float('inf') if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()


def _status_mb(field):
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def peak_growth_mb(run):
    """Peak resident-set growth in MB during one call of ``run`` (Linux: VmHWM reset through
    /proc/self/clear_refs)."""
    Path('/proc/self/clear_refs').write_text('5')  # reset the peak (VmHWM) to the current RSS
    before = _status_mb('VmRSS')
    run()
    return _status_mb('VmHWM') - before


def run_child(script, args, threads):
    """Run ``script`` with ``args`` in a fresh Python process at ``threads`` threads; the JSON object
    on the last line of its output."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f'{script} {" ".join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio(slow, fast):
    return f'{slow / fast:.2f}x'
