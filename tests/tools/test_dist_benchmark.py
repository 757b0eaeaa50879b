"""tools/dist_benchmark.sh: each cell's images spread over two CPU processes (mmengine's
distributed sampler and result collection) give the one-process table (and its exit status when
every model failed on a set); a process that hangs ends in the watchdog's paragraph, leaves the
finished cells and says how to go on, and the resumed run skips the finished cells."""
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
            "cfg_options={'test_dataloader.num_workers': 0}), dict(name='Nowhere', "
            f"config='configs/_base_/datasets/rain200h.py', data_root={str(root / 'nowhere')!r})]")
    (root / 'bench.py').write_text(
        f"models = [dict(name='identity', type='identity'), dict(name='tiny', config="
        f"{TINY_CONFIG!r}, checkpoint={str(root / 'tiny.pth')!r}), dict(name='missing', config="
        f"{TINY_CONFIG!r}, checkpoint={str(root / 'none.pth')!r})]\ndatasets = {sets}\n")
    one = run_tool(['tools/benchmark.py', str(root / 'bench.py'), '--out', str(root / 'one'),
                    '--no-cost', '--no-progress'])
    assert one.returncode == 1, one.stderr[-3000:]  # every model failed on Nowhere
    two = run_tool(['bash', 'tools/dist_benchmark.sh', str(root / 'bench.py'), '2', '--out',
                    str(root / 'two'), '--no-cost', '--no-progress'], python=False,
                   env={'PYTHON': sys.executable})
    assert two.returncode == 1, (two.stdout[-2000:], two.stderr[-3000:])
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


def test_every_model_failing_on_a_set_exits_1_on_several_processes_too(grid):
    _, two = grid
    assert two.stderr.count('error: every model failed on Nowhere: dataset did not load') == 1
    assert 'ChildFailedError' not in two.stderr and 'Traceback' not in two.stderr


def test_a_hung_process_ends_in_the_watchdogs_paragraph_and_the_run_resumes(grid, tmp_path):
    """A metric that hangs on the second process only (as a stuck disk would): the watchdog
    ends the run with its paragraph, the cells before stay in results.json and the message
    says how to go on; the resumed run keeps them and runs the rest."""
    root, _ = grid
    (tmp_path / 'hangmetric.py').write_text(
        "import os, time\n"
        "import torch.distributed as dist\n"
        "from restorelab.evaluation.metrics import PSNR\n"
        "from restorelab.registry import METRICS\n\n\n"
        "@METRICS.register_module()\n"
        "class HangOnSecondProcess(PSNR):\n"
        "    def score(self, pred, gt, names):\n"
        "        if os.environ.get('HANG') and dist.get_rank() == 1:\n"
        "            time.sleep(600)\n"
        "        return super().score(pred, gt, names)\n")
    (tmp_path / 'hang_set.py').write_text(
        f"_base_ = [{os.path.abspath('configs/_base_/datasets/rain200h.py')!r}]\n"
        "custom_imports = dict(imports=['hangmetric'], allow_failed_imports=False)\n"
        "test_evaluator = [dict(type='HangOnSecondProcess', prefix='Hang')]\n")
    bench = tmp_path / 'bench.py'
    bench.write_text(
        "models = [dict(name='identity', type='identity')]\n"
        f"datasets = [dict(name='A', config='configs/_base_/datasets/rain200h.py', "
        f"data_root={str(root / 'A')!r}), dict(name='Hang', "
        f"config={str(tmp_path / 'hang_set.py')!r}, data_root={str(root / 'A')!r})]\n")
    out = tmp_path / 'out'
    env = {'PYTHON': sys.executable, 'PYTHONPATH': f'{tmp_path}:{os.getcwd()}'}
    command = ['bash', 'tools/dist_benchmark.sh', str(bench), '2', '--out', str(out), '--no-cost',
               '--no-progress', '--watchdog-timeout', '10']
    res = run_tool(command, python=False, env=dict(env, HANG='1'))
    assert res.returncode == 1, res.stderr[-3000:]
    paragraph = res.stderr.strip().splitlines()[-1]
    assert paragraph.startswith('error: the watchdog stopped this run: none of its 2 processes')
    assert 'Hang: batch' in paragraph  # where the second process stopped
    assert f'The cells finished before are in {out / "results.json"}' in paragraph
    assert 'run the same command with --resume' in paragraph
    before = read_json(out / 'results.json')['cells']
    assert list(before) == ['identity|A']
    res = run_tool(command + ['--resume'], python=False, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f'resume: 1 finished cell(s) taken from {out / "results.json"}' in res.stdout
    after = read_json(out / 'results.json')['cells']
    assert after['identity|A'] == before['identity|A']  # not run again
    assert after['identity|Hang']['num_images'] == 5
