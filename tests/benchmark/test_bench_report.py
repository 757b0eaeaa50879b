"""table.md layout from a hand-written results dict: marks, ties, NIQE direction, notes."""
import math

from restorelab.benchmark import load_results, markdown_report, write_results_json
from restorelab.benchmark.report import cost_table, plot_psnr_vs_latency, quality_table


def _cell(model, dataset, mean, status='ok', reason=None, kind='model', dtype='paired'):
    return dict(model=model, dataset=dataset, dataset_type=dtype, status=status, reason=reason,
                mean=mean, images=[], model_spec=dict(name=model, type=kind),
                protocol='restormer' if dtype == 'paired' else 'niqe+brisque')


def _results():
    cells = [
        _cell('input', 'A', dict(psnr=14.0, ssim=0.5), kind='identity'),
        _cell('input', 'Real', dict(niqe=9.0, brisque=60.0), kind='identity', dtype='unpaired'),
        _cell('m1', 'A', dict(psnr=30.004, ssim=0.9)),
        _cell('m1', 'Real', dict(niqe=4.0, brisque=30.1234), dtype='unpaired'),
        _cell('m2', 'A', dict(psnr=29.996, ssim=0.8)),  # 30.00 as displayed: ties m1
        _cell('m2', 'Real', {}, status='unscored', reason='no NIQE parameters', dtype='unpaired'),
        _cell('m3', 'A', dict(psnr=28.0, ssim=0.95)),
        _cell('m3', 'Real', dict(niqe=3.0, brisque=35.0), dtype='unpaired'),
        _cell('m4', 'A', {}, status='failed', reason='RuntimeError: out of memory'),
        _cell('m4', 'Real', {}, status='failed', reason='RuntimeError: out of memory',
              dtype='unpaired'),
    ]
    return dict(
        environment=dict(restorelab='0', torch='t', mmengine='e', git_commit='abc',
                         git_dirty=False, device='cpu'),
        inference=dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False,
                       seed=0),
        cost_settings=dict(shape=[3, 256, 256], runs=5, warmup=2),
        models=['input', 'm1', 'm2', 'm3', 'm4', 'unused'],
        datasets=[dict(name='A', type='paired', protocol='restormer'),
                  dict(name='Real', type='unpaired', protocol='niqe+brisque',
                       metrics=['niqe', 'brisque'])],
        cells={f'{c["model"]}|{c["dataset"]}': c for c in cells},
        cost=dict(m1=dict(status='ok', params=26126644, flops=140_990_000_000,
                          paper_flops=140_990_000_000, fast_path=False, latency_ms=12.345,
                          peak_memory_mb=None),
                  m4=dict(status='failed', reason='model did not load')))


def test_quality_table_marks_best_and_second_as_displayed():
    lines, notes = quality_table(_results())
    assert lines == [
        '| Model | A PSNR ↑ | A SSIM ↑ | Real NIQE ↓ | Real BRISQUE ↓ |',
        '|:---|:---:|:---:|:---:|:---:|',
        '| input (rainy input) | 14.00 | 0.5000 | 9.0000 | 60.000 |',
        '| m1 | **30.00** | <u>0.9000</u> | <u>4.0000</u> | **30.123** |',
        '| m2 | **30.00** | 0.8000 | –[^1] | –[^1] |',
        '| m3 | <u>28.00</u> | **0.9500** | **3.0000** | <u>35.000</u> |',
        '| m4 | failed[^2] | failed[^2] | failed[^2] | failed[^2] |',
    ]
    assert notes == ['m2 on Real: not scored: no NIQE parameters',
                     'm4 on A, m4 on Real: RuntimeError: out of memory']


def test_cost_table_and_report_text():
    lines, notes = cost_table(_results())
    assert lines[0] == ('| Model | Params (M) | MACs (G) at 3×256×256, paper | MACs (G), executed | '
                        'Latency (ms/image) | Peak memory (MiB) |')
    assert lines[2:] == ['| m1 | 26.127 | 140.990 | 140.990 | 12.3 | – |',
                         '| m4 | failed[^c1] | – | – | – | – |']
    assert notes == ['cost of m4: model did not load']
    text = markdown_report(_results())
    assert '[^1]: m2 on Real: not scored: no NIQE parameters' in text
    assert 'Protocols: A: restormer, Real: niqe+brisque.' in text
    assert 'predictions rounded to 8 bits before scoring' in text
    assert 'Only the first' not in text and 'Contact sheets' not in text
    assert text.rstrip().endswith('commit abc, device cpu.')
    # A quick look with --limit and --quantize truncate, and contact sheets, are stated.
    results = dict(_results(), limit=5, contact_sheets={'A': 'contact_sheets/A.png'})
    results['inference'] = dict(results['inference'], quantize='truncate')
    text = markdown_report(results)
    assert 'predictions truncated to 8 bits (np.uint8(255 * out)' in text
    assert 'Only the first 5 images of each set were scored (--limit 5)' in text
    assert ('Contact sheets (the rainy input and each model side by side, then the ground truth of '
            'paired sets): [A](contact_sheets/A.png).') in text


def test_cost_table_names_the_models_that_run_a_fast_path():
    """An optimised model next to models that are not: both MAC counts, and a footnote naming it."""
    results = _results()
    results['cost']['m2'] = dict(status='ok', params=33_655_424, flops=204_800_000_000,
                                 paper_flops=242_900_000_000, fast_path=True, latency_ms=6560.0,
                                 peak_memory_mb=648.0)
    # A record written before the paper column existed: paper MACs unknown for a fast model.
    results['cost']['m3'] = dict(status='ok', params=1, flops=2_000_000_000, fast_path=True,
                                 latency_ms=1.0, peak_memory_mb=None)
    lines, notes = cost_table(results)
    assert lines[2:] == ['| m1 | 26.127 | 140.990 | 140.990 | 12.3 | – |',
                         '| m2[^c1] | 33.655 | 242.900 | 204.800 | 6560.0 | 648.0 |',
                         '| m3[^c1] | 0.000 | – | 2.000 | 1.0 | – |',
                         '| m4 | failed[^c2] | – | – | – | – |']
    assert notes[0].startswith('fast path: m2, m3 run a faster formulation of the same function')
    assert notes[0].endswith('The other models run their release formulation.')
    assert notes[1] == 'cost of m4: model did not load'
    text = markdown_report(results)
    assert '[^c1]: fast path: m2, m3 run' in text and '"paper" counts the function' in text


def test_no_cost_table_without_measured_costs():
    results = dict(_results(), cost={})
    text = markdown_report(results)
    assert '## Cost' not in text and '| Model | Params' not in text
    assert 'Cost not measured (--no-cost).' in text


def test_results_json_round_trips_infinity(tmp_path):
    results = _results()
    results['cells']['m1|A']['mean']['psnr'] = math.inf
    path = str(tmp_path / 'results.json')
    write_results_json(results, path)
    assert '"psnr": "inf"' in open(path).read()
    assert load_results(path)['cells']['m1|A']['mean']['psnr'] == math.inf


def test_plot_is_written_also_without_paired_sets(tmp_path):
    results = _results()
    path = plot_psnr_vs_latency(results, str(tmp_path / 'a.png'))
    assert open(path, 'rb').read(4) == b'\x89PNG'
    results['cells'] = {k: c for k, c in results['cells'].items() if c['dataset'] == 'Real'}
    path = plot_psnr_vs_latency(results, str(tmp_path / 'b.png'))
    assert open(path, 'rb').read(4) == b'\x89PNG'
