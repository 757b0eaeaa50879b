"""Importing restorelab leaves mmengine as it is; setup_engine() makes restorelab's three
changes, once."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = '''
import importlib, pkgutil, sys
import mmengine.runner.runner as mm_runner
from mmengine.fileio.backends import backends
from mmengine.runner.checkpoint import CheckpointLoader

def state():
    return (CheckpointLoader._schemes[''].__module__, 'restorelab_atomic_local' in backends,
            mm_runner.default_worker_init_fn.__module__)

before = state()
import restorelab
for info in pkgutil.walk_packages(restorelab.__path__, 'restorelab.'):
    importlib.import_module(info.name)
print(before == state(), before)
from restorelab.engine import setup_engine
setup_engine()
after = state()
print(after)
setup_engine()
print(after == state())
'''


def test_importing_changes_nothing_and_setup_engine_changes_three_things_once():
    out = subprocess.run([sys.executable, '-c', PROBE], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    imported, after, again = out.stdout.strip().splitlines()[-3:]
    assert imported.startswith('True'), imported
    assert after == str(('restorelab.engine.checkpoint', True, 'restorelab.engine.workers'))
    assert again == 'True'
