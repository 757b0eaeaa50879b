"""tools/benchmark.py end to end: a tiny Restormer and a tiny PReNet (official-format
checkpoint converted on the fly), the identity row and a model whose checkpoint is missing,
on two generated sets given as dataset configs (rain200h.py and rain100h.py's template
layout), each cell run by mmengine's test loop."""
import json
import os
import shutil

import numpy as np
import pytest
import torch
from tool_helpers import REPO, TINY_CONFIG, load_tool, make_rain200_folder, read_json, run_tool

from restorelab.apis import init_model
from restorelab.benchmark import BenchConfigError, run_benchmark
from restorelab.evaluation.functional import compute_metrics, quantize_image
from restorelab.evaluation.metrics import PerImageMetric
from restorelab.registry import METRICS
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

MODELS = ['identity', 'Restormer-tiny', 'PReNet-1', 'Missing']
DATASETS = ['SetA', 'SetB']
QUIET = dict(progress=False, log=lambda *a: None, measure_costs=False)


def _make_template_set(root, n=2, size=(20, 28), seed=3):
    """Rain100-style names (rain100h.py's 'jorder' layout): test/rain/rain-00i.png pairs with
    test/norain/norain-00i.png."""
    rng = np.random.default_rng(seed)
    for i in range(1, n + 1):
        clean = rng.integers(60, 190, size=(*size, 3), dtype=np.uint8)
        rain = clean.copy()
        rain[::5] = 250
        imwrite_rgb(os.path.join(root, 'test', 'rain', f'rain-{i:03d}.png'), rain)
        imwrite_rgb(os.path.join(root, 'test', 'norain', f'norain-{i:03d}.png'), clean)
    return root


def _datasets(set_a, set_b):
    return f"""[
    dict(name='SetA', config='configs/_base_/datasets/rain200h.py', data_root={set_a!r},
         cfg_options={{'test_dataloader.num_workers': 0}}),
    dict(name='SetB', config='configs/_base_/datasets/rain100h.py', data_root={set_b!r},
         protocol='rcdnet', cfg_options={{'test_dataloader.num_workers': 0}}),
]"""


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp('bench')
    set_a = make_rain200_folder(str(root / 'A'), n_train=0, n_test=2, size=(24, 32), seed=1)
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
datasets = {_datasets(set_a, set_b)}
inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0)
cost = dict(shape=(3, 16, 16), runs=1, warmup=0)
""")
    out = str(root / 'out')
    res = run_tool(['tools/benchmark.py', str(config), '--out', out, '--save-images'])
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(root=root, config=str(config), out=out, res=res, set_a=set_a, set_b=set_b)


def _metrics(results):
    return {k: (c['status'], c['mean'], c['images']) for k, c in results['cells'].items()}


def test_writes_every_output_and_records_the_environment(bench):
    out = bench['out']
    for name in ('results.json', 'results.csv', 'table.md', 'psnr_vs_latency.png'):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    results = read_json(os.path.join(out, 'results.json'))
    env = results['environment']
    assert env['torch'] == torch.__version__ and env['device'] == 'cpu'
    assert results['inference']['pad_mode'] == 'reflect' and results['processes'] == 1
    assert sorted(results['cells']) == sorted(f'{m}|{d}' for m in MODELS for d in DATASETS)
    cell = results['cells']['PReNet-1|SetB']
    assert cell['status'] == 'ok' and [i['key'] for i in cell['images']] == ['rain-001', 'rain-002']
    assert cell['mean']['PSNR'] == float(np.mean([i['PSNR'] for i in cell['images']]))
    # Saved images are the scored 8-bit predictions, in both conventions.
    saved = imread_rgb(os.path.join(out, 'images', 'PReNet-1', 'SetB', 'rain-001.png'))
    gt = imread_rgb(os.path.join(bench['set_b'], 'test', 'norain', 'norain-001.png'))
    assert compute_metrics(saved, gt, 'rcdnet')['psnr'] == cell['images'][0]['PSNR']
    assert compute_metrics(saved, gt, 'rcdnet', channels='rgb')['ssim'] == \
        cell['images'][0]['SSIM_RGB']
    # The identity row scores the rainy input itself.
    ident = results['cells']['identity|SetA']['images'][0]
    rain = imread_rgb(os.path.join(bench['set_a'], 'test', 'input', '1.png'))
    gt = imread_rgb(os.path.join(bench['set_a'], 'test', 'target', '1.png'))
    assert ident['key'] == '1' and ident['PSNR'] == compute_metrics(rain, gt, 'restormer')['psnr']
    cost = results['cost']
    assert cost['Restormer-tiny']['params'] == sum(
        p.numel() for p in init_model(TINY_CONFIG).arch.parameters())
    assert cost['identity']['flops'] == 0 and cost['identity']['latency_ms'] is None
    # Costs need no weights: the model whose checkpoint is missing is measured too.
    assert cost['Missing']['status'] == 'ok'
    assert cost['Missing']['flops'] == cost['Restormer-tiny']['flops'] > 0
    tiny = cost['Restormer-tiny']  # fast path: both MAC counts
    assert tiny['fast_path'] is True and tiny['paper_flops'] != tiny['flops']
    table = open(os.path.join(out, 'table.md')).read()
    assert 'MACs (G) at 3×16×16, paper | MACs (G), executed |' in table
    assert '[^c1]: fast path: Restormer-tiny, Missing run a faster formulation' in table
    assert ('SetA: PSNR, SSIM (restormer protocol) from configs/_base_/datasets/rain200h.py; SetB: '
            'PSNR, SSIM (rcdnet protocol) from configs/_base_/datasets/rain100h.py') in table
    rows = open(os.path.join(out, 'results.csv')).read().splitlines()
    assert rows[0] == ('model,dataset,image,PSNR,SSIM,PSNR_RGB,SSIM_RGB,status,reason,reference,'
                       'mean_diff,ci_low,ci_high,wins')
    # 2 + 2 images and one mean row per scored cell, one row per failed cell.
    assert len(rows) == 1 + 3 * (2 + 1 + 2 + 1) + 2
    assert rows[-1].startswith('Missing,SetB,,,,,,failed,')
    assert not os.path.exists(os.path.join(out, '.collect'))


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
            assert abs(cuda['cells'][key]['mean']['PSNR'] - cell['mean']['PSNR']) < 0.1, key


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
    for col, (dataset, metric, decimals) in enumerate(
            [('SetA', 'PSNR', 2), ('SetA', 'SSIM', 4), ('SetB', 'PSNR', 2), ('SetB', 'SSIM', 4)],
            start=1):
        values = {m: round(results['cells'][f'{m}|{dataset}']['mean'][metric], decimals)
                  for m in ('Restormer-tiny', 'PReNet-1')}
        assert values['Restormer-tiny'] != values['PReNet-1']
        best, second = max(values, key=values.get), min(values, key=values.get)
        cells = {r[0].lstrip('| '): r[col].rstrip(' |') for r in rows}
        assert cells[best] == f'**{values[best]:.{decimals}f}**'
        assert cells[second] == f'<u>{values[second]:.{decimals}f}</u>'
        ident = results['cells'][f'identity|{dataset}']['mean'][metric]
        assert cells['identity (rainy input)'] == f'{ident:.{decimals}f}'  # never marked
    # The other convention: the same images in RGB, a second table.
    assert '| Model | SetA PSNR_RGB ↑ | SetA SSIM_RGB ↑ | SetB PSNR_RGB ↑ | SetB SSIM_RGB ↑ |' in table
    # Is the difference real: every model against the best mean of each set.
    comp = results['comparisons']['SetA']
    best = max(('Restormer-tiny', 'PReNet-1', 'identity'),
               key=lambda m: results['cells'][f'{m}|SetA']['mean']['PSNR'])
    assert comp['metric'] == 'PSNR' and comp['reference'] == best
    for model, row in comp['rows'].items():
        diffs = [a['PSNR'] - b['PSNR'] for a, b in zip(
            results['cells'][f'{model}|SetA']['images'], results['cells'][f'{best}|SetA']['images'])]
        assert row['mean_diff'] == pytest.approx(np.mean(diffs), abs=1e-12)
        assert row['ci_low'] <= row['mean_diff'] <= row['ci_high']
        assert any(line.startswith(f'| SetA (PSNR; reference {best}) | {model} | '
                                   f'{row["mean_diff"]:+.3f}') for line in table)


def test_same_numbers_as_the_benchmark_loop_before_the_test_loop(bench):
    """The numbers of the previous benchmark, recomputed here the way it computed them (each
    image restored by model.restore, quantised and scored by evaluation.functional): equal to
    1e-6 dB, on generated data (docs/benchmarking.md gives the real-data check)."""
    results = read_json(os.path.join(bench['out'], 'results.json'))
    root = bench['root']
    model = init_model(str(root / 'prenet.py'))
    from restorelab.models.converters import load_official_checkpoint
    model.arch.load_state_dict(load_official_checkpoint(str(root / 'prenet_official.pth'),
                                                        'prenet', arch=model.arch))
    for i, record in enumerate(results['cells']['PReNet-1|SetB']['images'], start=1):
        rain = imread_rgb(os.path.join(bench['set_b'], 'test', 'rain', f'rain-{i:03d}.png'))
        gt = imread_rgb(os.path.join(bench['set_b'], 'test', 'norain', f'norain-{i:03d}.png'))
        x = torch.from_numpy(rain.transpose(2, 0, 1).copy()).float()[None] / 255
        pred = quantize_image(model.restore(x)[0].numpy().transpose(1, 2, 0))
        expected = compute_metrics(pred, gt, 'rcdnet')
        assert abs(record['PSNR'] - expected['psnr']) <= 1e-6
        assert abs(record['SSIM'] - expected['ssim']) <= 1e-9


def test_rerun_gives_identical_numbers(bench, tmp_path):
    first = read_json(os.path.join(bench['out'], 'results.json'))
    second = run_benchmark(bench['config'], str(tmp_path / 'again'), **QUIET)
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
                         datasets='SetB', **QUIET)
    assert sorted(only['cells']) == ['identity|SetB']


def test_numbers_equal_tools_test(bench, tmp_path):
    """tools/test.py and the benchmark run the same loader, model and evaluator: the same
    PSNR/SSIM to the bit."""
    out = str(tmp_path / 'metrics.json')
    res = run_tool(['tools/test.py', TINY_CONFIG, str(bench['root'] / 'restormer.pth'),
                    '--out', out, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                    f'test_dataloader.dataset.data_root={bench["set_a"]}'])
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = read_json(out)['metrics']
    cell = read_json(os.path.join(bench['out'], 'results.json'))['cells']['Restormer-tiny|SetA']
    assert metrics['Rain200H/PSNR'] == cell['mean']['PSNR']
    assert metrics['Rain200H/SSIM'] == cell['mean']['SSIM']


@pytest.mark.parametrize('models, datasets, message', [
    ("[dict(name='a', type='identity', checkpiont='x.pth')]", None,
     "models[0]: unknown key(s) ['checkpiont']; valid keys: ['name', 'type', 'config', "),
    ("[dict(name='a', chekpoint='x.pth')]", None, "unknown key(s) ['chekpoint']"),
    ("[dict(name='a', weights='x.pth')]", None, "unknown key(s) ['weights']"),
    ("[dict(name='a', checkpoint='x.pth')]", None,
     'models[0] (a): model reference {\'checkpoint\': \'x.pth\'} is of no known kind: it is '
     "dict(config='CONFIG.py', checkpoint='CKPT.pth'"),
    ("[dict(name='a', zoo='prenet_rain100')]", None, "'prenet_rain100' is not a released model"),
    ("[dict(name='a', type='identity')]", "[dict(config='configs/_base_/datasets/rain300h.py')]",
     "datasets[0]: dataset config 'configs/_base_/datasets/rain300h.py' does not exist; the "
     'dataset configs are configs/_base_/datasets/ddn_data.py, '),
    ("[dict(name='a', type='identity')]", "[dict(config='configs/_base_/datasets/rain200h.py', "
     "cfg_options={'test_evaluator': [dict(type='PSNRR')]})]",
     "test_evaluator names the unknown metric 'PSNRR'; registered metrics: BRISQUE, "),
])
def test_bad_config_is_refused_before_anything_runs(tmp_path, capsys, models, datasets, message):
    config = tmp_path / 'bad.py'
    config.write_text(f'models = {models}\ndatasets = '
                      f"{datasets or [dict(config='configs/_base_/datasets/rain200h.py')]}\n")
    code = load_tool('tools/benchmark.py').main([str(config), '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not (tmp_path / 'o').exists()


def test_per_dataset_checkpoints(bench, tmp_path):
    """A model trained once per set: checkpoint (and config) by dataset name."""
    config = tmp_path / 'per_set.py'
    config.write_text(
        f"models = [dict(name='R', config={TINY_CONFIG!r}, "
        f"checkpoint=dict(SetA={str(bench['root'] / 'restormer.pth')!r}))]\n"
        f"datasets = {_datasets(bench['set_a'], bench['set_b'])}\n")
    results = run_benchmark(str(config), str(tmp_path / 'o'), **QUIET)
    first = read_json(os.path.join(bench['out'], 'results.json'))
    assert results['cells']['R|SetA']['mean'] == first['cells']['Restormer-tiny|SetA']['mean']
    assert results['cells']['R|SetB']['status'] == 'failed'
    assert results['cells']['R|SetB']['reason'] == (
        "model did not load: model 'R' lists no checkpoint for dataset "
        "'SetB' (its checkpoint dict names ['SetA'])")


@METRICS.register_module(force=True)
class ToyMAE(PerImageMetric):
    """Mean absolute error (8-bit levels) of a restored image: a metric the benchmark has never
    heard of, added by this class and one line in a dataset config."""
    name = 'MAE'
    higher_is_better = False
    decimals = 3

    def score(self, pred, gt, names):
        return float(np.abs(pred.astype(np.float64) - gt).mean())


def test_a_new_metric_is_a_class_and_a_line_in_a_dataset_config(bench, tmp_path):
    dataset_cfg = tmp_path / 'rain200h_mae.py'
    dataset_cfg.write_text(
        "_base_ = ['" + os.path.join(REPO, 'configs/_base_/datasets/rain200h.py') + "']\n"
        "test_dataloader = dict(num_workers=0)\n"
        "test_evaluator = [*_base_.test_evaluator, dict(type='ToyMAE', prefix='Rain200H')]\n")
    config = tmp_path / 'mae.py'
    root = bench['root']
    config.write_text(
        f"models = [dict(name='identity', type='identity'), dict(name='R', config={TINY_CONFIG!r}, "
        f"checkpoint={str(root / 'restormer.pth')!r}), dict(name='P', config="
        f"{str(root / 'prenet.py')!r}, checkpoint={str(root / 'prenet_official.pth')!r}, "
        "convert='prenet')]\n"
        f"datasets = [dict(config={str(dataset_cfg)!r}, data_root={bench['set_a']!r})]\n")
    results = run_benchmark(str(config), str(tmp_path / 'o'), save_images=True, **QUIET)
    table = open(tmp_path / 'o' / 'table.md').read()
    assert '| Model | Rain200H PSNR ↑ | Rain200H SSIM ↑ | Rain200H MAE ↓ |' in table
    for record in results['cells']['R|Rain200H']['images']:
        saved = imread_rgb(tmp_path / 'o' / 'images' / 'R' / 'Rain200H' / f'{record["key"]}.png')
        gt = imread_rgb(os.path.join(bench['set_a'], 'test', 'target', f'{record["key"]}.png'))
        assert record['MAE'] == np.abs(saved.astype(np.float64) - gt).mean()
    # Lower is better: the smaller mean is the one in bold.
    maes = {m: round(results['cells'][f'{m}|Rain200H']['mean']['MAE'], 3) for m in ('R', 'P')}
    best, second = sorted(maes, key=maes.get)
    assert maes[best] < maes[second]
    assert f'**{maes[best]:.3f}** |' in table and f'<u>{maes[second]:.3f}</u> |' in table
