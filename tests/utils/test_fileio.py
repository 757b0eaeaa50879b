"""The one atomic-write helper and the JSON-with-infinities round trip."""
import json
import math
import os

import pytest

from restorelab.utils.fileio import (TMP_PREFIX, atomic_output, atomic_path, from_json_safe,
                                     to_json_safe,
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


@pytest.mark.parametrize('umask', [0o022, 0o077])
def test_outputs_honour_the_umask_whatever_writes_them(tmp_path, umask):
    """A file written through a name (atomic_path: ONNX exports) or a file object (atomic_output)
    gets the mode a plain open(path, 'w') would: 0666 minus the umask, not mkstemp's 0600."""
    from restorelab.utils import fileio
    previous = os.umask(umask)
    try:
        expected = fileio._default_mode()
        with atomic_path(tmp_path / 'by_name.onnx') as tmp:
            with open(tmp, 'wb') as f:  # the writer truncates the temporary file, keeping its mode
                f.write(b'graph')
        with atomic_output(tmp_path / 'by_object.bin') as f:
            f.write(b'bytes')
        plain = tmp_path / 'plain.txt'
        plain.write_text('x')
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {'by_name.onnx': expected, 'by_object.bin': expected, 'plain.txt': expected}
    assert expected == 0o666 & ~umask


def test_atomic_path_removes_its_temporary_when_the_writer_fails(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / 'model.onnx') as tmp:
            open(tmp, 'wb').close()
            raise ValueError('export failed')
    assert os.listdir(tmp_path) == []
