"""`make demo` at a reduced size: data, training, scores, comparisons, benchmark."""
import glob
import json
import os

from tool_helpers import REPO, read_json, run_tool


def test_quick_demo_writes_every_artefact(tmp_path):
    work = tmp_path / 'demo'
    res = run_tool(['tools/demo.py', '--quick', '--models', 'restormer', '--work-dir', str(work),
                    '--record', str(tmp_path / 'demo-quick.json')], env=dict(OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert len(glob.glob(str(work / 'data' / 'clean' / 'train' / '*.png'))) == 5
    assert sorted(os.listdir(work / 'data' / 'test' / 'input')) == \
        sorted(os.listdir(work / 'data' / 'test' / 'target')) == \
        ['chelsea_1.png', 'chelsea_2.png', 'motorcycle_right_1.png', 'motorcycle_right_2.png']
    summary = read_json(work / 'summary.json')
    assert set(summary) == {'rainy_input', 'restormer'}
    assert summary['restormer']['iterations'] == 4
    assert os.path.isfile(summary['restormer']['checkpoint'])
    assert glob.glob(str(work / 'restormer' / '*' / 'vis_data' / 'events.out.tfevents*'))
    assert len(os.listdir(work / 'comparisons' / 'restormer')) == 4
    assert 'rainy input  PSNR' in res.stdout and 'Restormer    PSNR' in res.stdout
    record = read_json(tmp_path / 'demo-quick.json')  # what docs/quickstart.md renders
    assert record['name'] == 'demo-quick' and record['script'] == 'tools/demo.py' and '--quick' in record['command']
    assert record['machine']['cores'] >= 1 and len(record['machine']['load_average']) == 3
    results = record['results']
    assert results['quick'] and results['threads'] == 1 and list(results['models']) == ['Restormer']
    assert results['models']['Restormer']['PSNR'] == summary['restormer']['PSNR']
    assert results['rainy_input']['PSNR'] == summary['rainy_input']['PSNR'] and results['test_images'] == 4
    if os.path.isfile(os.path.join(REPO, 'tools', 'benchmark.py')):
        assert (work / 'benchmark' / 'table.md').is_file()
        with open(work / 'benchmark' / 'results.json') as f:
            cells = json.load(f)
        assert 'identity' in json.dumps(cells) and 'Restormer' in json.dumps(cells)
