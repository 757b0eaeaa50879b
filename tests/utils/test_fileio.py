"""The one atomic-write helper and the JSON-with-infinities round trip."""
import json
import math
import os

import pytest

from restorelab.utils.fileio import (TMP_PREFIX, atomic_output, from_json_safe, to_json_safe,
                                     write_json)


def test_json_infinities_round_trip(tmp_path):
    value = {'psnr': math.inf, 'low': -math.inf, 'cells': [(1.5, math.inf)], 'name': 'a'}
    path = tmp_path / 'sub' / 'r.json'
    write_json(path, value)
    raw = json.loads(path.read_text())
    assert raw == {'psnr': 'inf', 'low': '-inf', 'cells': [[1.5, 'inf']], 'name': 'a'}
    assert from_json_safe(raw) == {'psnr': math.inf, 'low': -math.inf, 'cells': [[1.5, math.inf]],
                                   'name': 'a'}
    assert to_json_safe(2.0) == 2.0


@pytest.mark.parametrize('sync', [True, False])
def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, sync):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_output(path, sync=sync) as f:
            f.write(b'half')
            raise RuntimeError('killed mid-write')
    assert path.read_bytes() == b'old'
    assert not [n for n in os.listdir(tmp_path) if n.startswith(TMP_PREFIX)]
    with atomic_output(path, sync=sync) as f:
        f.write(b'new')
    assert path.read_bytes() == b'new'
    assert sorted(os.listdir(tmp_path)) == ['out.bin']
