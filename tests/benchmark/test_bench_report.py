"""table.md, results.csv and the plot from a hand-written results dict: marks, ties, metric
directions from the evaluator's columns, notes, the bootstrap comparison, label placement."""
import csv
import math

import numpy as np

from restorelab.benchmark import comparisons, load_results, markdown_report
from restorelab.benchmark.report import (cost_table, place_labels, plot_psnr_vs_latency,
                                         quality_latency_figure, quality_table, write_csv)
from restorelab.utils.fileio import write_json

PAIRED = [dict(name='PSNR', higher_is_better=True, decimals=2, other=False, protocol='restormer'),
          dict(name='SSIM', higher_is_better=True, decimals=4, other=False, protocol='restormer'),
          dict(name='PSNR_RGB', higher_is_better=True, decimals=2, other=True, protocol='restormer')]
REAL = [dict(name='NIQE', higher_is_better=False, decimals=4, other=False),
        dict(name='BRISQUE', higher_is_better=False, decimals=3, other=False)]


def _cell(model, dataset, mean, status='ok', reason=None, images=()):
    return dict(model=model, dataset=dataset, status=status, reason=reason, mean=mean,
                images=list(images))


def _results():
    cells = [
        _cell('input', 'A', dict(PSNR=14.0, SSIM=0.5, PSNR_RGB=13.0)),
        _cell('input', 'Real', dict(NIQE=9.0, BRISQUE=60.0)),
        _cell('m1', 'A', dict(PSNR=30.004, SSIM=0.9, PSNR_RGB=29.0)),
        _cell('m1', 'Real', dict(NIQE=4.0, BRISQUE=30.1234)),
        _cell('m2', 'A', dict(PSNR=29.996, SSIM=0.8, PSNR_RGB=28.0)),  # 30.00 as shown: ties m1
        _cell('m2', 'Real', {}, status='unscored', reason='no metric'),
        _cell('m3', 'A', dict(PSNR=28.0, SSIM=0.95, PSNR_RGB=28.5)),
        _cell('m3', 'Real', dict(NIQE=3.0, BRISQUE=35.0)),
        _cell('m4', 'A', {}, status='failed', reason='RuntimeError: out of memory'),
        _cell('m4', 'Real', {}, status='failed', reason='RuntimeError: out of memory'),
    ]
    return dict(
        environment=dict(restorelab='0', torch='t', mmengine='e', git_commit='abc',
                         git_dirty=False, device='cpu'),
        inference=dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False,
                       seed=0),
        cost_settings=dict(shape=[3, 256, 256], runs=5, warmup=2), processes=1,
        models=['input', 'm1', 'm2', 'm3', 'm4', 'unused'], identity=['input'],
        datasets=[dict(name='A', config='a.py', columns=PAIRED),
                  dict(name='Real', config='real.py', columns=REAL)],
        cells={f'{c["model"]}|{c["dataset"]}': c for c in cells},
        cost=dict(m1=dict(status='ok', params=26126644, flops=140_990_000_000,
                          paper_flops=140_990_000_000, fast_path=False, latency_ms=12.345,
                          peak_memory_mb=None),
                  m4=dict(status='failed', reason='model did not load')))


def test_quality_table_marks_best_and_second_as_displayed_in_each_direction():
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
    assert notes == ['m2 on Real: not scored: no metric',
                     'm4 on A, m4 on Real: RuntimeError: out of memory']
    other, _ = quality_table(_results(), other=True)
    assert other[0] == '| Model | A PSNR_RGB ↑ |'
    assert other[3:6] == ['| m1 | **29.00** |', '| m2 | 28.00 |', '| m3 | <u>28.50</u> |']


def test_comparisons_bootstrap_against_the_best_mean_or_the_chosen_reference():
    results = _results()
    keys = ['1', '2', '3', '4']
    ref = [30.0, 31.0, 29.0, 30.0]
    for model, values in (('m1', ref), ('m2', [v + d for v, d in zip(ref, (1, 2, 3, 2))]),
                          ('m3', [v + d for v, d in zip(ref, (1, -1, 1, -1))])):
        cell = results['cells'][f'{model}|A']
        cell['images'] = [dict(key=k, PSNR=v) for k, v in zip(keys, values)]
        cell['mean']['PSNR'] = float(np.mean(values))
    results['cells']['m3|A']['images'][0]['PSNR'] = math.inf  # left out of the pairs
    comp = comparisons(results, seed=5)
    assert list(comp) == ['A', 'Real']
    a = comp['A']
    assert a['reference'] == 'm2' and a['metric'] == 'PSNR'  # the best mean
    m1 = a['rows']['m1']
    assert m1['mean_diff'] == -2.0 and m1['images'] == 4 and m1['wins'] == 0.0
    # Every resample of the differences -1, -2, -3, -2 has a mean in [-3, -1]: the interval
    # excludes zero.
    assert -3 <= m1['ci_low'] < m1['ci_high'] <= -1
    m3 = a['rows']['m3']
    assert m3['images'] == 3 and m3['mean_diff'] == float(np.mean([-3, -2, -3]))
    assert comparisons(results, seed=5) == comp  # seeded
    # Chosen reference; lower is better for NIQE: 'wins' counts lower values.
    chosen = comparisons(results, reference='m1', seed=5)['A']
    assert chosen['reference'] == 'm1' and chosen['rows']['m2']['wins'] == 1.0
    results['comparisons'] = comp
    text = markdown_report(results)
    assert '## Is the difference real?' in text and '(the best mean)' in text
    assert f'| A (PSNR; reference m2) | m1 | -2.000 * | [{m1["ci_low"]:+.3f}, ' \
           f'{m1["ci_high"]:+.3f}] | 0 % of 4 |' in text


def test_cost_table_and_report_text():
    lines, notes = cost_table(_results())
    assert lines[0] == ('| Model | Params (M) | MACs (G) at 3×256×256, paper | MACs (G), executed | '
                        'Latency (ms/image) | Peak memory (MiB) |')
    assert lines[2:] == ['| m1 | 26.127 | 140.990 | 140.990 | 12.3 | – |',
                         '| m4 | failed[^c1] | – | – | – | – |']
    assert notes == ['cost of m4: model did not load']
    text = markdown_report(_results())
    assert '[^1]: m2 on Real: not scored: no metric' in text
    assert ('Sets: A: PSNR, SSIM (restormer protocol) from a.py; Real: NIQE, BRISQUE from '
            'real.py.') in text
    assert 'predictions rounded to 8 bits before scoring' in text
    assert 'median of 5 run(s) after 2 warm-up run(s)' in text
    assert 'Only the first' not in text and 'Contact sheets' not in text
    assert text.rstrip().endswith('commit abc, device cpu.')
    results = dict(_results(), limit=5, contact_sheets={'A': 'contact_sheets/A.png'}, processes=2)
    results['inference'] = dict(results['inference'], quantize='truncate')
    text = markdown_report(results)
    assert 'predictions truncated to 8 bits (np.uint8(255 * out)' in text
    assert 'Only the first 5 images of each set were scored (--limit 5)' in text
    assert 'Latency: one run without warm-up (--limit: a rough figure)' in text
    assert 'Run on 2 processes.' in text
    assert '[A](contact_sheets/A.png).' in text


def test_no_cost_table_without_measured_costs():
    text = markdown_report(dict(_results(), cost={}))
    assert '## Cost' not in text and 'Cost not measured (--no-cost).' in text


def test_csv_has_every_column_and_the_comparison_on_the_mean_row(tmp_path):
    results = _results()
    results['cells']['m1|A']['images'] = [dict(key='1', PSNR=30.0, SSIM=0.9, PSNR_RGB=29.0)]
    results['comparisons'] = dict(A=dict(reference='m2', rows=dict(m1=dict(
        mean_diff=-1.5, ci_low=-2.0, ci_high=-1.0, wins=0.25, images=4))))
    write_csv(results, tmp_path / 'r.csv')
    rows = list(csv.reader(open(tmp_path / 'r.csv')))
    assert rows[0] == ['model', 'dataset', 'image', 'PSNR', 'SSIM', 'PSNR_RGB', 'NIQE', 'BRISQUE',
                       'status', 'reason', 'reference', 'mean_diff', 'ci_low', 'ci_high', 'wins']
    m1 = [r for r in rows if r[:2] == ['m1', 'A']]
    assert m1[0][:6] == ['m1', 'A', '1', '30.0', '0.9', '29.0'] and m1[0][10:] == [''] * 5
    assert m1[1][2] == 'mean' and m1[1][10:] == ['m2', '-1.5', '-2.0', '-1.0', '0.25']


def test_results_json_round_trips_infinity(tmp_path):
    results = _results()
    results['cells']['m1|A']['mean']['PSNR'] = math.inf
    path = str(tmp_path / 'results.json')
    write_json(path, results)
    assert '"PSNR": "inf"' in open(path).read()
    assert load_results(path)['cells']['m1|A']['mean']['PSNR'] == math.inf


def test_labels_overlap_nothing_and_stay_inside_the_frame():
    """Two models at nearly the same point (PRN and PRN_r) and one at the edge (BRN)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 3.8))
    points = [(1300.0, 28.07, 'PRN'), (1301.0, 28.071, 'PRN_r'), (3078.0, 29.46, 'PReNet'),
              (4904.0, 28.97, 'PReNet_r'), (7570.0, 30.47, 'BRN')]
    ax.scatter(*zip(*[(x, y) for x, y, _ in points]))
    ax.margins(0.25)
    fig.tight_layout()
    texts = place_labels(ax, points)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    frame = ax.get_window_extent(renderer)
    assert [t.get_text() for t in texts] == [p[2] for p in points]
    for i, a in enumerate(boxes):
        assert frame.x0 < a.x0 and a.x1 < frame.x1 and frame.y0 < a.y0 and a.y1 < frame.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (texts[i].get_text(), a, b)
    plt.close(fig)


def test_plot_says_the_limit_and_is_written_also_without_scored_sets(tmp_path):
    results = dict(_results(), limit=3)
    import matplotlib.pyplot as plt
    fig = quality_latency_figure(results)
    assert [ax.get_title() for ax in fig.axes[:2]] == ['A (restormer, first 3 images)',
                                                       'Real (NIQE, first 3 images)']
    plt.close(fig)
    path = plot_psnr_vs_latency(results, str(tmp_path / 'a.png'))
    assert open(path, 'rb').read(4) == b'\x89PNG'
    results['cells'] = {k: c for k, c in results['cells'].items() if c['status'] == 'failed'}
    path = plot_psnr_vs_latency(results, str(tmp_path / 'b.png'))
    assert open(path, 'rb').read(4) == b'\x89PNG'
