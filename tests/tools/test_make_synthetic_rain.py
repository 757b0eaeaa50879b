"""tools/make_synthetic_rain.py writes the Rain200 layout that PairedImageDataset reads."""
import importlib.util
import os

import numpy as np
from tool_helpers import REPO

from restorelab.datasets import PairedImageDataset
from restorelab.utils.image_io import imread_rgb, imwrite_rgb


def _tool_main():
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_rain_tool', os.path.join(REPO, 'tools', 'make_synthetic_rain.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _clean_folder(root):
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg', 'sub/c.png'):
        imwrite_rgb(str(root / name), rng.integers(20, 150, size=(40, 56, 3), dtype=np.uint8))


def test_writes_rain200_layout_reproducibly(tmp_path, capsys):
    _clean_folder(tmp_path / 'clean')
    main, outs = _tool_main(), []
    for name, seed in (('one', 5), ('two', 5), ('three', 6)):
        assert main([str(tmp_path / 'clean'), str(tmp_path / name), '--n-per-image', '2',
                     '--seed', str(seed), '--preset', 'light', '--set', 'density=0.01']) == 0
        assert 'wrote 6 pairs' in capsys.readouterr().out
        outs.append(tmp_path / name)
    ds = PairedImageDataset(data_root=str(outs[0]), data_prefix=dict(img='input', gt='target'))
    keys = [ds.get_data_info(i)['key'] for i in range(len(ds))]
    assert keys == ['a_1', 'a_2', 'b_1', 'b_2', 'sub/c_1', 'sub/c_2']
    clean_a = imread_rgb(str(tmp_path / 'clean' / 'a.png'))
    np.testing.assert_array_equal(imread_rgb(str(outs[0] / 'target' / 'a_1.png')), clean_a)
    rain_a1 = imread_rgb(str(outs[0] / 'input' / 'a_1.png'))
    assert (rain_a1 >= clean_a).all() and (rain_a1 > clean_a).any()
    assert not np.array_equal(rain_a1, imread_rgb(str(outs[0] / 'input' / 'a_2.png')))
    for rel in ('input/a_1.png', 'input/sub/c_2.png'):
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes()  # same seed
        assert (outs[0] / rel).read_bytes() != (outs[2] / rel).read_bytes()  # other seed


def test_bad_input_is_named(tmp_path, capsys):
    main = _tool_main()
    assert main([str(tmp_path / 'missing'), str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert 'missing' in err and 'not a folder' in err
    _clean_folder(tmp_path / 'clean')
    assert main([str(tmp_path / 'clean'), str(tmp_path / 'o'), '--set', 'angle=(50,10)']) == 2
    assert 'angle=(50, 10)' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()
