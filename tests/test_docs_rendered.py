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
    text = (REPO_ROOT / 'docs' / 'model_zoo.md').read_text()
    for name in ('zoo-releases', 'equivalence'):
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
