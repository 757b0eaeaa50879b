"""tools/dist_benchmark.sh: each cell's images spread over two CPU processes (mmengine's
distributed sampler and result collection) give the one-process table, a resumed run skips
the finished cells, and a process that stops leaves the finished cells and says how to go on."""
import json
import os
import sys

import pytest
import torch
from tool_helpers import TINY_CONFIG, make_rain200_folder, read_json, run_tool

from restorelab.apis import init_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    # 5 images: the sampler pads the second process with a repeat, which must not be scored.
    data = make_rain200_folder(str(root / 'A'), n_train=0, n_test=5, size=(24, 32), seed=4)
    torch.manual_seed(0)
    torch.save({'state_dict': init_model(TINY_CONFIG).state_dict()}, root / 'tiny.pth')
    sets = (f"[dict(name='A', config='configs/_base_/datasets/rain200h.py', data_root={data!r}, "
            "cfg_options={'test_dataloader.num_workers': 0}), dict(name='A-rcdnet', "
            f"config='configs/_base_/datasets/rain200l.py', data_root={data!r}, protocol='rcdnet', "
            "cfg_options={'test_dataloader.num_workers': 0})]")
    (root / 'bench.py').write_text(
        f"models = [dict(name='identity', type='identity'), dict(name='tiny', config="
        f"{TINY_CONFIG!r}, checkpoint={str(root / 'tiny.pth')!r}), dict(name='missing', config="
        f"{TINY_CONFIG!r}, checkpoint={str(root / 'none.pth')!r})]\ndatasets = {sets}\n")
    one = run_tool(['tools/benchmark.py', str(root / 'bench.py'), '--out', str(root / 'one'),
                    '--no-cost', '--no-progress'])
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_tool(['bash', 'tools/dist_benchmark.sh', str(root / 'bench.py'), '2', '--out',
                    str(root / 'two'), '--no-cost', '--no-progress'], python=False,
                   env={'PYTHON': sys.executable})
    assert two.returncode == 0, (two.stdout[-2000:], two.stderr[-3000:])
    return root, two


def _table(path):
    text = open(os.path.join(path, 'table.md')).read()
    return text[text.index('| Model |'):text.index('restorelab 0')]


def test_two_processes_give_the_one_process_table(grid):
    root, _ = grid
    one, two = read_json(root / 'one' / 'results.json'), read_json(root / 'two' / 'results.json')
    assert one['processes'] == 1 and two['processes'] == 2
    assert sorted(one['cells']) == sorted(two['cells'])
    for key, cell in one['cells'].items():
        assert two['cells'][key]['status'] == cell['status'], key
        assert two['cells'][key]['mean'] == cell['mean'], key  # to the bit
        assert two['cells'][key]['images'] == cell['images'], key
    assert [i['key'] for i in two['cells']['tiny|A']['images']] == ['1', '2', '3', '4', '5']
    assert _table(root / 'one') == _table(root / 'two')
    assert not os.path.exists(root / 'two' / '.collect')


def test_a_resumed_distributed_run_skips_the_finished_cells(grid):
    root, _ = grid
    path = root / 'two' / 'results.json'
    before = read_json(path)
    data = read_json(path)
    del data['cells']['tiny|A-rcdnet']
    with open(path, 'w') as f:
        json.dump(data, f)
    res = run_tool(['bash', 'tools/dist_benchmark.sh', str(root / 'bench.py'), '2', '--out',
                    str(root / 'two'), '--no-cost', '--no-progress', '--resume'], python=False,
                   env={'PYTHON': sys.executable})
    assert res.returncode == 0, res.stderr[-3000:]
    assert f'resume: 3 finished cell(s) taken from {path}' in res.stdout  # failed cells rerun
    after = read_json(path)
    for key, cell in before['cells'].items():
        assert after['cells'][key]['images'] == cell['images'], key
        if cell['status'] == 'ok' and key != 'tiny|A-rcdnet':
            assert after['cells'][key]['seconds'] == cell['seconds'], key  # not run again


def test_a_process_that_stops_leaves_the_finished_cells_and_says_how_to_resume(grid, tmp_path):
    """A metric that fails on the second process only (as a lost machine or a bad file would):
    the cells before stay in results.json, and the message says how to go on."""
    root, _ = grid
    (tmp_path / 'crashmetric.py').write_text(
        "import torch.distributed as dist\n"
        "from restorelab.evaluation.metrics import PSNR\n"
        "from restorelab.registry import METRICS\n\n\n"
        "@METRICS.register_module()\n"
        "class CrashOnSecondProcess(PSNR):\n"
        "    def score(self, pred, gt, names):\n"
        "        if dist.is_initialized() and dist.get_rank() == 1:\n"
        "            raise RuntimeError('disk of the second machine is gone')\n"
        "        return super().score(pred, gt, names)\n")
    (tmp_path / 'crash_set.py').write_text(
        f"_base_ = [{os.path.abspath('configs/_base_/datasets/rain200h.py')!r}]\n"
        "custom_imports = dict(imports=['crashmetric'], allow_failed_imports=False)\n"
        "test_evaluator = [dict(type='CrashOnSecondProcess', prefix='Crash')]\n")
    bench = tmp_path / 'bench.py'
    bench.write_text(
        "models = [dict(name='identity', type='identity')]\n"
        f"datasets = [dict(name='A', config='configs/_base_/datasets/rain200h.py', "
        f"data_root={str(root / 'A')!r}), dict(name='Crash', config={str(tmp_path / 'crash_set.py')!r}, "
        f"data_root={str(root / 'A')!r})]\n")
    out = tmp_path / 'out'
    res = run_tool(['bash', 'tools/dist_benchmark.sh', str(bench), '2', '--out', str(out),
                    '--no-cost', '--no-progress'], python=False,
                   env={'PYTHON': sys.executable, 'PYTHONPATH': f'{tmp_path}:{os.getcwd()}'})
    assert res.returncode != 0
    assert 'disk of the second machine is gone' in res.stderr
    assert f'The cells finished before are in {out / "results.json"}' in res.stderr
    assert 'run the same command with --resume' in res.stderr
    assert list(read_json(out / 'results.json')['cells']) == ['identity|A']


def test_every_model_failing_on_a_set_exits_1_on_several_processes_too(tmp_path):
    bench = tmp_path / 'bench.py'
    bench.write_text("models = [dict(name='identity', type='identity')]\n"
                     "datasets = [dict(config='configs/_base_/datasets/rain200h.py', "
                     f"data_root={str(tmp_path / 'nowhere')!r})]\n")
    res = run_tool(['bash', 'tools/dist_benchmark.sh', str(bench), '2', '--out',
                    str(tmp_path / 'out'), '--no-cost', '--no-progress'], python=False,
                   env={'PYTHON': sys.executable})
    assert res.returncode == 1, res.stderr[-3000:]
    assert res.stderr.count('error: every model failed on Rain200H: dataset did not load') == 1
    assert 'ChildFailedError' not in res.stderr and 'processes stopped' not in res.stderr
