"""Helpers for the tool tests: a generated Rain200-layout folder and tool runs."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

from restorelab.utils.image_io import imwrite_rgb

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TINY_CONFIG = os.path.join(REPO, 'tests', 'data', 'configs', 'tiny_rain200h.py')


def make_rain200_folder(root, n_train=6, n_test=2, size=(40, 48), seed=0):
    """A Rain200-layout folder: clean images with bright streaks as the rain."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for split, n in (('train', n_train), ('test', n_test)):
        for i in range(1, n + 1):
            base = rng.uniform(40, 200, size=3)
            clean = (base + 30 * np.sin(xx[..., None] / (3 + i)) + 20 * np.cos(yy[..., None] / 5))
            clean = np.clip(clean, 0, 255).astype(np.uint8)
            rain = clean.astype(np.int32)
            streaks = ((xx + 2 * yy + i) % 9 == 0)
            rain[streaks] += 90
            rain = np.clip(rain, 0, 255).astype(np.uint8)
            imwrite_rgb(os.path.join(root, split, 'input', f'{i}.png'), rain)
            imwrite_rgb(os.path.join(root, split, 'target', f'{i}.png'), clean)
    return root


def data_root_options(root):
    return [f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}']


def run_tool(args, cwd=REPO, env=None, timeout=300, python=True):
    """Run ``python ARGS`` (or ``ARGS`` with ``python=False``) in the repo root."""
    full_env = dict(os.environ)
    # Tiny models gain nothing from a second thread, and with other work on
    # the two cores two threads each make a run several times slower.
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args] if python else list(args), cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def load_tool(path):
    """The tool at ``path`` (relative to the repository) as a module, to call its ``main``."""
    spec = importlib.util.spec_from_file_location(
        os.path.splitext(os.path.basename(path))[0] + '_tool', os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
