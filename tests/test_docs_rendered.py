"""The docs' measured tables are what benchmarks/report.py renders from the results records (and
the zoo's manifest): a number typed into a marked block by hand, or a record added without
re-rendering, fails here."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_report():
    spec = importlib.util.spec_from_file_location('bench_report', REPO_ROOT / 'benchmarks' / 'report.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_rendered_block_equals_the_records():
    report = load_report()
    assert report.stale_blocks() == [], 'run: python benchmarks/report.py'


PAGE_BLOCKS = {
    'docs/model_zoo.md': ('models', 'table1', 'equivalence'),
    'docs/released_weights.md': ('zoo-releases',),
    'configs/spanet/README.md': ('real-rain-spanet',),
    'docs/performance.md': ('drsformer-speed', 'restormer-speed', 'restormer-ops', 'cpu-roofline'),
    'docs/deployment.md': ('onnx-speed',),
    'docs/reliability.md': ('resume-time', 'memory-growth', 'watchdog-recovery'),
    'docs/gpu.md': ('gpu-check',),
    'docs/quickstart.md': ('demo',),
    'docs/benchmarking.md': ('dist-benchmark-time',),
}


@pytest.mark.parametrize('page', sorted(PAGE_BLOCKS))
def test_the_pages_have_the_blocks(page):
    text = (REPO_ROOT / page).read_text()
    for name in PAGE_BLOCKS[page]:
        assert f'<!-- results:{name} -->' in text and f'<!-- /results:{name} -->' in text


def test_every_renderer_has_a_page():
    report = load_report()
    assert set(report.RENDERERS) == {name for names in PAGE_BLOCKS.values() for name in names}


def _record(name, results, command=None, dirty=False):
    return dict(name=name, script=f'benchmarks/{name.split("-")[0]}.py',
                command=command or f'python benchmarks/{name.split("-")[0]}.py', commit='0123456789abcdef',
                dirty=dirty, date='2026-12-01T10:00:00+00:00', seconds=1.0,
                machine=dict(cpu='Some CPU', cores=2, torch='2.13.0+cpu', load_average=[1.5, 1.0, 1.0],
                             load_average_start=[1.0, 1.0, 1.0]), results=results)


def test_a_missing_record_says_how_to_measure_and_a_dry_run_is_left_out(tmp_path):
    report = load_report()
    render = report.RENDERERS['cpu-roofline']
    assert render(tmp_path) == 'Not measured yet: run `python benchmarks/cpu_roofline.py`.\n'
    results = dict(products=[dict(rows=4, inner=2, cols=3, mkl_gflops=1.25, onednn_gflops=2.5)], depthwise=[],
                   fusions=[])
    (tmp_path / 'cpu_roofline-dry-run.json').write_text(json.dumps(_record('cpu_roofline-dry-run', results)))
    (tmp_path / 'cpu_roofline-x.json').write_text(json.dumps(
        _record('cpu_roofline-x', results, command='python benchmarks/cpu_roofline.py --dry-run')))
    assert render(tmp_path) == 'Not measured yet: run `python benchmarks/cpu_roofline.py`.\n'
    (tmp_path / 'cpu_roofline.json').write_text(json.dumps(_record('cpu_roofline', results, dirty=True)))
    text = render(tmp_path)
    assert text.startswith('`python benchmarks/cpu_roofline.py`: 2026-12-01, commit 0123456 with uncommitted '
                           'changes; Some CPU, 2 cores, torch 2.13.0+cpu; load average 1.00 at the start, '
                           '1.50 at the end.\n')
    assert '| 4 × 2 × 3 | 1.2 | 2.5 |' in text and 'Not measured' not in text


def test_a_small_speed_record_alone_says_the_full_size_is_not_measured(tmp_path):
    report = load_report()
    case = dict(case='inference 8x8', threads=1, interleaved=dict(plain=dict(first=2.0, steady=1.0),
                                                                    fast=dict(first=1.0, steady=0.25)),
                agreement=dict(plain=dict(max_abs=1e-7, psnr_db=140.04)), peak_mb=dict(plain=30.0, fast=20.0))
    results = dict(size='small', implementations=['plain', 'fast'], fast='fast', float64_max_abs=2e-16,
                   float64_size=[8, 8], cases=[case])
    (tmp_path / 'restormer_speed-small.json').write_text(json.dumps(_record('restormer_speed-small', results)))
    text = report.RENDERERS['restormer-speed'](tmp_path)
    assert text.startswith('Not measured at full size yet: run `python benchmarks/restormer_speed.py`.')
    assert '| inference 8x8 | 1 | one process | 2.00 / 1.00 | 1.00 / 0.25 | 2.00× / **4.00×** | 140.0 | 30 → 20 |' in text
    results['size'] = 'full'
    (tmp_path / 'restormer_speed.json').write_text(json.dumps(_record('restormer_speed', results)))
    text = report.RENDERERS['restormer-speed'](tmp_path)
    assert 'Not measured' not in text and text.count('| inference 8x8 |') == 2


def test_a_changed_record_makes_its_block_stale(tmp_path):
    report = load_report()
    record = json.loads((REPO_ROOT / 'benchmarks' / 'results' / 'equivalence-dualgcn.json').read_text())
    (tmp_path / 'equivalence-dualgcn.json').write_text(json.dumps(record))
    block = ('<!-- results:equivalence -->\n' + report.render_equivalence(tmp_path)
             + '<!-- /results:equivalence -->')
    assert report.render_text(block, tmp_path) == block
    record['results']['variants']['DualGCN']['64x64']['float32_psnr_db'] = 61.0
    (tmp_path / 'equivalence-dualgcn.json').write_text(json.dumps(record))
    assert '| 61.0 |' in report.render_text(block, tmp_path) != block
    with pytest.raises(SystemExit, match="unknown results block 'nope'"):
        report.render_text('<!-- results:nope -->\nx\n<!-- /results:nope -->', tmp_path)


def test_the_demo_block_renders_a_full_run_and_not_a_quick_one_alone(tmp_path):
    report = load_report()
    results = dict(rainy_input=dict(PSNR=19.5, SSIM=0.68), test_images=4, threads=1, iters_scale=1.0,
                   quick=True, cpu_capability='AVX2',
                   models=dict(PReNet=dict(PSNR=21.75, SSIM=0.7, iterations=4, train_seconds=3.2)))
    record = _record('demo-quick', results, command='python tools/demo.py --quick --record x.json')
    (tmp_path / 'demo-quick.json').write_text(json.dumps(record))
    text = report.RENDERERS['demo'](tmp_path)
    assert text.startswith('Not measured at full size yet: run `python tools/demo.py --record '
                           'benchmarks/results/demo.json`.')
    assert '| PReNet | 21.75 | 0.7000 | +2.25 | 4 | 3 |' in text and '1 torch thread, CPU capability AVX2' in text
    results['quick'] = False
    (tmp_path / 'demo.json').write_text(json.dumps(_record('demo', results)))
    assert 'Not measured' not in report.RENDERERS['demo'](tmp_path)


def test_the_real_rain_table_has_a_row_per_model_and_says_a_failure(tmp_path):
    report = load_report()
    model = dict(zoo='spanet_spa_data', trained_on='SPA-Data (real rain)', status='ok', reason=None,
                 num_images=2, mean=dict(niqe=3.25, brisque=12.5), seconds=1.0,
                 images=[dict(key='1', niqe=3.0, brisque=10.0), dict(key='2', niqe=3.5, brisque=15.0)])
    failed = dict(model, zoo='prenet_rain100h', status='failed', reason='no file', mean=None, images=[])
    record = dict(name='real-rain-spanet', date='2026-01-02T00:00:00', commit='0123456789', dirty=True,
                  results=dict(models={'SPANet_SPA': model, 'PReNet_Rain100H': failed}))
    (tmp_path / 'real-rain-spanet.json').write_text(json.dumps(record))
    rows = report.render_real_rain_spanet(tmp_path).splitlines()
    assert rows[2] == ('| SPANet_SPA | spanet_spa_data | SPA-Data (real rain) | 1, 2 | 3.250 | 12.50 '
                       '| 2026-01-02, 0123456 (dirty) |')
    assert rows[3].startswith('| PReNet_Rain100H | prenet_rain100h |') and 'failed: no file' in rows[3]
    assert len(rows) == 4
