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


def test_the_pages_have_the_blocks():
    for page, names in (('model_zoo.md', ('models', 'table1', 'equivalence')),
                        ('released_weights.md', ('zoo-releases',))):
        text = (REPO_ROOT / 'docs' / page).read_text()
        for name in names:
            assert f'<!-- results:{name} -->' in text and f'<!-- /results:{name} -->' in text


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
