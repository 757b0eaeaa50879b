"""tools/benchmark.py end to end: a tiny Restormer and a tiny PReNet (official-format
checkpoint converted on the fly), the identity row and a model whose checkpoint is
missing, on two generated paired sets in two layouts and protocols."""
import importlib.util
import json
import os
import shutil

import numpy as np
import pytest
import torch
from tool_helpers import REPO, TINY_CONFIG, make_rain200_folder, read_json, run_tool

from restorelab.apis import init_model
from restorelab.benchmark import BenchConfigError, run_benchmark
from restorelab.evaluation.functional import compute_metrics
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

MODELS = ['identity', 'Restormer-tiny', 'PReNet-1', 'Missing']
DATASETS = ['SetA', 'SetB']


def _make_template_set(root, n=2, size=(20, 28), seed=3):
    """Rain100-style names: rain/rain-00i.png pairs with norain/norain-00i.png."""
    rng = np.random.default_rng(seed)
    for i in range(1, n + 1):
        clean = rng.integers(60, 190, size=(*size, 3), dtype=np.uint8)
        rain = clean.copy()
        rain[::5] = 250
        imwrite_rgb(os.path.join(root, 'rain', f'rain-{i:03d}.png'), rain)
        imwrite_rgb(os.path.join(root, 'norain', f'norain-{i:03d}.png'), clean)
    return root


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp('bench')
    set_a = make_rain200_folder(str(root / 'A'), n_train=0, n_test=2, size=(24, 32),
                                seed=1)
    set_b = _make_template_set(str(root / 'B'))
    torch.manual_seed(0)
    restormer = init_model(TINY_CONFIG)
    torch.save({'state_dict': restormer.state_dict()}, root / 'restormer.pth')
    prenet_cfg = root / 'prenet.py'
    prenet_cfg.write_text("model = dict(type='ImageRestorer', arch=dict(type='PReNet', "
                          "recurrent_iter=1), pixel_loss=dict(type='L1Loss'))\n")
    # Saved as the PReNet release saves its weights: a bare state_dict of the arch.
    torch.save(init_model(str(prenet_cfg)).arch.state_dict(), root / 'prenet_official.pth')
    config = root / 'bench.py'
    config.write_text(f"""
_root = {str(root)!r}
models = [
    dict(name='identity', type='identity'),
    dict(name='Restormer-tiny', config={TINY_CONFIG!r}, checkpoint=_root + '/restormer.pth'),
    dict(name='PReNet-1', config=_root + '/prenet.py', checkpoint=_root + '/prenet_official.pth',
         convert='prenet'),
    dict(name='Missing', config={TINY_CONFIG!r}, checkpoint=_root + '/missing.pth'),
]
datasets = [
    dict(name='SetA', type='paired', data_root={set_a!r},
         data_prefix=dict(img='test/input', gt='test/target'), protocol='restormer'),
    dict(name='SetB', type='paired', data_root={set_b!r}, data_prefix=dict(img='rain', gt='norain'),
         filename_tmpl=dict(img='rain-{{}}', gt='norain-{{}}'), protocol='rcdnet'),
]
inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0)
cost = dict(shape=(3, 16, 16), runs=1, warmup=0)
""")
    out = str(root / 'out')
    res = run_tool(['tools/benchmark.py', str(config), '--out', out, '--save-images'])
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(root=root, config=str(config), out=out, res=res, set_a=set_a, set_b=set_b)


def _metrics(results):
    return {k: (c['status'], c['mean'], [(i['key'], i.get('psnr'), i.get('ssim'))
                                         for i in c['images']])
            for k, c in results['cells'].items()}


def test_writes_every_output_and_records_the_environment(bench):
    out = bench['out']
    for name in ('results.json', 'results.csv', 'table.md', 'psnr_vs_latency.png'):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    with open(os.path.join(out, 'psnr_vs_latency.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    results = read_json(os.path.join(out, 'results.json'))
    env = results['environment']
    assert env['torch'] == torch.__version__ and env['device'] == 'cpu'
    assert {'mmengine', 'restorelab', 'git_commit'} <= set(env)
    assert results['inference']['pad_mode'] == 'reflect' and results['inference']['seed'] == 0
    assert sorted(results['cells']) == sorted(f'{m}|{d}' for m in MODELS for d in DATASETS)
    cell = results['cells']['PReNet-1|SetB']
    assert cell['status'] == 'ok' and cell['protocol'] == 'rcdnet'
    assert [i['key'] for i in cell['images']] == ['rain-001', 'rain-002']
    assert cell['mean']['psnr'] == float(np.mean([i['psnr'] for i in cell['images']]))
    # Saved images are the scored 8-bit predictions.
    saved = imread_rgb(os.path.join(out, 'images', 'PReNet-1', 'SetB', 'rain-001.png'))
    gt = imread_rgb(os.path.join(bench['set_b'], 'norain', 'norain-001.png'))
    assert compute_metrics(saved, gt, 'rcdnet')['psnr'] == cell['images'][0]['psnr']
    # The identity row scores the rainy input itself.
    ident = results['cells']['identity|SetA']['images'][0]
    rain = imread_rgb(os.path.join(bench['set_a'], 'test', 'input', '1.png'))
    gt = imread_rgb(os.path.join(bench['set_a'], 'test', 'target', '1.png'))
    assert ident['key'] == '1' and ident['psnr'] == compute_metrics(rain, gt, 'restormer')['psnr']
    cost = results['cost']
    assert cost['Restormer-tiny']['params'] == sum(
        p.numel() for p in init_model(TINY_CONFIG).arch.parameters())
    assert cost['identity']['flops'] == 0
    # Costs need no weights: the model whose checkpoint is missing is measured too.
    assert cost['Missing']['status'] == 'ok'
    assert cost['Missing']['flops'] == cost['Restormer-tiny']['flops'] > 0
    # Restormer runs its fast path: the paper column counts the release formulation, the other
    # column the fast path (attention folded into the output projection, F.layer_norm counted).
    tiny = cost['Restormer-tiny']
    assert tiny['fast_path'] is True and tiny['paper_flops'] != tiny['flops']
    assert cost['identity']['paper_flops'] == 0 and cost['identity']['fast_path'] is False
    table = open(os.path.join(out, 'table.md')).read()
    assert 'MACs (G) at 3×16×16, paper | MACs (G), executed |' in table
    assert '| Restormer-tiny[^c1] |' in table
    assert '[^c1]: fast path: Restormer-tiny, Missing run a faster formulation' in table
    rows = open(os.path.join(out, 'results.csv')).read().splitlines()
    assert rows[0] == 'model,dataset,protocol,image,psnr,ssim,niqe,brisque,status,reason'
    # 2 + 2 images and one mean row per scored cell, one row per failed cell.
    assert len(rows) == 1 + 3 * (2 + 1 + 2 + 1) + 2
    assert rows[-1].startswith('Missing,SetB,rcdnet,,,,,,failed,')


def test_the_same_benchmark_on_cuda(cuda_device, bench, tmp_path):
    """The CUDA case of the benchmark run above: the same cells succeed or fail, and the scores of
    the 8-bit predictions agree with the CPU's (a rounding may flip at a few pixels)."""
    out = str(tmp_path / 'cuda')
    res = run_tool(['tools/benchmark.py', bench['config'], '--out', out, '--device', 'cuda'])
    assert res.returncode == 0, res.stderr[-3000:]
    cpu = read_json(os.path.join(bench['out'], 'results.json'))
    cuda = read_json(os.path.join(out, 'results.json'))
    assert cuda['environment']['device'] == 'cuda'
    assert sorted(cuda['cells']) == sorted(cpu['cells'])
    for key, cell in cpu['cells'].items():
        assert cuda['cells'][key]['status'] == cell['status'], key
        if cell['status'] == 'ok':
            assert abs(cuda['cells'][key]['mean']['psnr'] - cell['mean']['psnr']) < 0.1, key


def test_table_layout_marks_and_failed_cells(bench):
    results = read_json(os.path.join(bench['out'], 'results.json'))
    table = open(os.path.join(bench['out'], 'table.md')).read().splitlines()
    start = table.index('| Model | SetA PSNR ↑ | SetA SSIM ↑ | SetB PSNR ↑ | SetB SSIM ↑ |')
    assert table[start + 1] == '|:---|:---:|:---:|:---:|:---:|'
    rows = [r.split(' | ') for r in table[start + 2:start + 6]]
    assert [r[0].lstrip('| ') for r in rows] == [
        'identity (rainy input)', 'Restormer-tiny', 'PReNet-1', 'Missing']
    assert rows[3][1:] == ['failed[^1]'] * 3 + ['failed[^1] |']
    note = next(line for line in table if line.startswith('[^1]: '))
    assert 'Missing on SetA, Missing on SetB' in note and 'missing.pth' in note
    assert 'does not exist' in note
    for col, (dataset, metric, decimals) in enumerate(
            [('SetA', 'psnr', 2), ('SetA', 'ssim', 4), ('SetB', 'psnr', 2), ('SetB', 'ssim', 4)],
            start=1):
        values = {m: round(results['cells'][f'{m}|{dataset}']['mean'][metric], decimals)
                  for m in ('Restormer-tiny', 'PReNet-1')}
        assert values['Restormer-tiny'] != values['PReNet-1']
        best = max(values, key=values.get)
        second = min(values, key=values.get)
        cells = {r[0].lstrip('| '): r[col].rstrip(' |') for r in rows}
        assert cells[best] == f'**{values[best]:.{decimals}f}**'
        assert cells[second] == f'<u>{values[second]:.{decimals}f}</u>'
        ident = results['cells'][f'identity|{dataset}']['mean'][metric]
        assert cells['identity (rainy input)'] == f'{ident:.{decimals}f}'  # never marked
    assert any(line.startswith('| Restormer-tiny[^c1] | 0.179 |') for line in table)  # fast path


def test_rerun_gives_identical_numbers(bench, tmp_path):
    first = read_json(os.path.join(bench['out'], 'results.json'))
    second = run_benchmark(bench['config'], str(tmp_path / 'again'), progress=False,
                           log=lambda *a: None, measure_costs=False)
    assert _metrics(json.loads(json.dumps(second))) == _metrics(first)


def test_resume_skips_finished_cells_and_reruns_the_rest(bench, tmp_path):
    out = str(tmp_path / 'resumed')
    shutil.copytree(bench['out'], out)
    path = os.path.join(out, 'results.json')
    before = read_json(path)
    data = read_json(path)
    del data['cells']['PReNet-1|SetA']
    with open(path, 'w') as f:
        json.dump(data, f)
    logs = []
    after = run_benchmark(bench['config'], out, resume=True, progress=False, log=logs.append)
    assert logs[0] == f'resume: 5 finished cell(s) taken from {path}'
    assert after['cells']['PReNet-1|SetA']['seconds'] > 0
    for key, cell in before['cells'].items():
        if cell['status'] == 'ok' and key != 'PReNet-1|SetA':
            assert after['cells'][key]['seconds'] == cell['seconds'], key  # not run again
    # The removed cell was computed again, with the same numbers; failed cells were retried.
    assert _metrics(json.loads(json.dumps(after))) == _metrics(before)
    assert any(line.startswith('Missing | SetA: failed: model did not load') for line in logs)
    assert after['cost']['Restormer-tiny'] == before['cost']['Restormer-tiny']


def test_resume_refuses_a_missing_results_file_and_filters_check_names(bench, tmp_path):
    with pytest.raises(BenchConfigError, match=r"--models: unknown name\(s\) \['Nope'\]; the "
                       r"config lists \['identity', 'Restormer-tiny', 'PReNet-1', 'Missing'\]"):
        run_benchmark(bench['config'], str(tmp_path / 'x'), models='Nope', progress=False)
    with pytest.raises(ValueError, match='no .*results.json.* to resume from'):
        run_benchmark(bench['config'], str(tmp_path / 'y'), resume=True, progress=False)
    only = run_benchmark(bench['config'], str(tmp_path / 'z'), models='identity',
                         datasets='SetB', progress=False, log=lambda *a: None,
                         measure_costs=False)
    assert sorted(only['cells']) == ['identity|SetB']


def test_numbers_equal_tools_test(bench, tmp_path):
    """tools/test.py and the benchmark: same model and set, the same PSNR/SSIM to the bit."""
    out = str(tmp_path / 'metrics.json')
    res = run_tool(['tools/test.py', TINY_CONFIG, str(bench['root'] / 'restormer.pth'),
                    '--out', out, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                    f'test_dataloader.dataset.data_root={bench["set_a"]}'])
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = read_json(out)['metrics']
    cell = read_json(os.path.join(bench['out'], 'results.json'))['cells']['Restormer-tiny|SetA']
    assert metrics['Rain200H/PSNR'] == cell['mean']['psnr']
    assert metrics['Rain200H/SSIM'] == cell['mean']['ssim']


def _load_tool(path):
    spec = importlib.util.spec_from_file_location('benchmark_tool', os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_config_key_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / 'bad.py'
    config.write_text("models = [dict(name='a', type='identity', checkpiont='x.pth')]\n"
                      "datasets = [dict(name='d', data_root='.', protocol='restormer')]\n")
    code = _load_tool('tools/benchmark.py').main([str(config), '--out', str(tmp_path / 'o')])
    assert code == 2
    assert ("error: models[0]: unknown key(s) ['checkpiont']; valid keys: ['name', 'type']"
            in capsys.readouterr().err)


def test_per_dataset_checkpoints(bench, tmp_path):
    """A model trained once per set: checkpoint (and config) by dataset name."""
    config = tmp_path / 'per_set.py'
    config.write_text(
        f"models = [dict(name='R', config={TINY_CONFIG!r}, "
        f"checkpoint=dict(SetA={str(bench['root'] / 'restormer.pth')!r}))]\n"
        f"datasets = [dict(name='SetA', data_root={bench['set_a']!r}, data_prefix=dict("
        f"img='test/input', gt='test/target'), protocol='restormer'), dict(name='SetB', "
        f"data_root={bench['set_a']!r}, data_prefix=dict(img='test/input', gt='test/target'), "
        f"protocol='rcdnet')]\n")
    results = run_benchmark(str(config), str(tmp_path / 'o'), progress=False,
                            log=lambda *a: None, measure_costs=False)
    first = read_json(os.path.join(bench['out'], 'results.json'))
    assert results['cells']['R|SetA']['mean'] == first['cells']['Restormer-tiny|SetA']['mean']
    assert results['cells']['R|SetB']['status'] == 'failed'
    assert results['cells']['R|SetB']['reason'] == (
        "model did not load: BenchmarkError: model 'R' lists no checkpoint for dataset "
        "'SetB' (its checkpoint dict "
        "names ['SetA'])")
