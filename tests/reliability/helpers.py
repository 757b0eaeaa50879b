"""Helpers for the reliability tests: tiny in-process runs and tool runs."""
import contextlib
import logging
import os
import os.path as osp
import subprocess
import sys
import uuid

import torch
from mmengine.config import Config
from mmengine.hooks import Hook

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'tools'))
from tool_helpers import (REPO, TINY_CONFIG, data_root_options,  # noqa: E402,F401
                          make_rain200_folder)

from restorelab.engine import launch  # noqa: E402

# One thread per process: two test processes (or ranks) on two cores would
# otherwise spin-wait on each other's threads.
ENV = {'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}


def tiny_cfg(root, work_dir, options=None):
    """The tiny Restormer config on ``root`` with restorelab's safety hooks."""
    cfg = Config.fromfile(TINY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'test_{uuid.uuid4().hex[:8]}'
    cfg.default_hooks.pop('visualization')
    cfg.vis_backends = [dict(type='LocalVisBackend')]
    cfg.visualizer = dict(type='Visualizer', vis_backends=cfg.vis_backends,
                          name=f'vis_{cfg.experiment_name}')
    if options:
        cfg.merge_from_dict(options)
    launch.apply_reliability(cfg, training=True)
    return cfg


def build_runner(cfg, hooks=()):
    runner = launch.build_runner(cfg)
    for hook in hooks:
        runner.register_hook(hook)
    return runner


def weights(runner):
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b, atol=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=k)


class AtIteration(Hook):
    """Calls ``fn(runner)`` before training iteration ``iteration`` (1-based)."""

    priority = 'VERY_HIGH'

    def __init__(self, iteration, fn):
        self.iteration = iteration
        self.fn = fn

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.iteration:
            self.fn(runner, data_batch)


@contextlib.contextmanager
def captured_log():
    """Collect the messages logged through mmengine's current logger."""
    from mmengine.logging import MMLogger
    lines = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def tool_main(tool, argv):
    """Run ``tools/<tool>.py``'s ``main(argv)`` in this process; returns
    ``(exit status, stderr text)``. Saves the import time of a new process."""
    import importlib.util
    import io
    spec = importlib.util.spec_from_file_location(f'_tool_{tool}', osp.join(REPO, 'tools', f'{tool}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = module.main(list(argv))
    return code, err.getvalue()


def run_tool(args, timeout=300, env=None, cwd=REPO):
    full = dict(os.environ, **ENV, **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)


def run_tools(commands, timeout=300):
    """Run several ``python ARGS`` commands at once; their CompletedProcess-like results."""
    procs = [subprocess.Popen([sys.executable, *args], cwd=REPO, env=dict(os.environ, **ENV),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in commands]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


FAULT_CONFIG = osp.join(REPO, 'tests', 'reliability', 'configs', 'tiny_faults.py')


def train_args(root, work, *options):
    """tools/train.py arguments: the FaultHook config on ``root``, work dir ``work``,
    ``options`` appended to ``--cfg-options`` (further flags may follow them)."""
    return [FAULT_CONFIG, '--work-dir', work, '--cfg-options', *data_root_options(root),
            *options]


def popen_train(args, procs=None, env=None, new_session=False):
    """Start ``tools/train.py ARGS`` (or ``tools/dist_train.sh`` on ``procs`` processes,
    the config being ``args[0]``) with pipes; ``env`` adds variables."""
    if procs:
        cmd = ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), *args[:1], str(procs), *args[1:]]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), *args]
    full = dict(os.environ, **ENV, PYTHON=sys.executable, **(env or {}))
    return subprocess.Popen(cmd, cwd=REPO, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=new_session)


def wait_for(condition, proc, what, timeout=240):
    """Poll ``condition()`` until true; fail when ``proc`` ends first or time runs out."""
    import time
    start = time.time()
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f'run ended before {what}:\n{err[-3000:]}')
        if time.time() - start > timeout:
            proc.kill()
            raise AssertionError(f'{what} did not happen within {timeout} s')
        time.sleep(0.05)


def wait_for_file(path, proc, timeout=240):
    wait_for(lambda: osp.exists(path), proc, f'{path} appeared', timeout)


def trained_keys(work, rank=0):
    """{iteration: sample keys} as trained by ``rank`` (FaultHook's record; a resumed
    run overrides repeated iterations)."""
    import json
    keys = {}
    with open(osp.join(work, f'keys_rank{rank}.jsonl')) as f:
        for line in f:
            rec = json.loads(line)
            keys[rec['iter']] = rec['keys']
    return keys


def end_reports(work, n=2):
    """FaultHook's end-of-training reports of ranks 0 .. n-1."""
    import json
    return [json.load(open(osp.join(work, f'end_rank{r}.json'))) for r in range(n)]


def logged_val_metrics(work):
    """{iteration: record} of the validations logged in ``work``'s scalars.json files
    (metrics with 4 decimals)."""
    import glob
    import json
    out = {}
    for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'Rain200H/PSNR' in rec:
                    out[rec['step']] = rec
    return out
