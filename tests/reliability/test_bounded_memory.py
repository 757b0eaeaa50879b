"""Bounded memory (slow): a benchmark of the five quickstart models and a validation hold the same
peak anonymous memory after ten times the images (benchmarks/memory_growth.py, smaller than its
default run)."""
import os
import re
import subprocess
import sys

import pytest

from helpers import ENV, REPO

pytestmark = pytest.mark.slow


def test_benchmark_and_test_do_not_grow_with_the_number_of_images(tmp_path):
    # 7 photographs x 15 rainy versions of 128 pixels: an output kept per image by any of the six
    # models would add more than 100 MB between 10 and 100 images.
    out = subprocess.run(
        [sys.executable, 'benchmarks/memory_growth.py', '--scratch', str(tmp_path), '--per-image', '15',
         '--max-side', '128', '--counts', '10,100', '--results-dir', str(tmp_path / 'results')],
        cwd=REPO, env=dict(os.environ, **ENV), capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    # | run | resident / anonymous after 10 | resident / anonymous after 100 |
    rows = re.findall(r'^\| (tools/\S+[^|]*) \| (\d+) / (\d+) \| (\d+) / (\d+) \|$', out.stdout, flags=re.M)
    assert [name.split(',')[0] for name, *_ in rows] == ['tools/benchmark.py', 'tools/test.py'], out.stdout
    for name, _, few, _, many in rows:
        # The anonymous memory (heap and tensors), where a kept output would be: the resident set
        # also counts shared libraries' pages, which move with what else runs on the machine.
        assert int(many) <= int(few) + 60, f'{name}: {few} MiB anonymous after 10 images, {many} after 100'

