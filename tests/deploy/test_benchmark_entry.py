"""A benchmark model entry with backend='onnxruntime': scored like its PyTorch twin, its cost
measured in ONNX Runtime, and a file of another arch refused."""
import os
import sys

import pytest
from deploy_helpers import TINY_CONFIG

from restorelab.benchmark import BenchConfigError, run_benchmark
from restorelab.benchmark.config import check_bench_config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
from tool_helpers import make_rain200_folder  # noqa: E402


def _bench(root, tiny_model, extra=''):
    _, ckpt, dynamic, _ = tiny_model
    data = make_rain200_folder(str(root / 'data'), n_train=0, n_test=2, size=(21, 30), seed=2)
    return dict(
        models=[dict(name='torch', config=TINY_CONFIG, checkpoint=ckpt),
                dict(name='ort', config=TINY_CONFIG, checkpoint=dynamic, backend='onnxruntime')],
        datasets=[dict(name='Set', config='configs/_base_/datasets/rain200h.py', data_root=data,
                       cfg_options={'test_dataloader.num_workers': 0})],
        inference=dict(tile=16, tile_overlap=4, self_ensemble=False, seed=0),
        cost=dict(shape=(3, 16, 16), runs=1, warmup=0))


def test_onnxruntime_entry_scores_as_pytorch(tiny_model, tmp_path):
    results = run_benchmark(_bench(tmp_path, tiny_model), str(tmp_path / 'out'), progress=False,
                            log=lambda *a: None)
    torch_cell, ort_cell = results['cells']['torch|Set'], results['cells']['ort|Set']
    assert torch_cell['status'] == ort_cell['status'] == 'ok'
    for a, b in zip(torch_cell['images'], ort_cell['images']):
        assert a['key'] == b['key'] and abs(a['PSNR'] - b['PSNR']) < 0.01  # 8-bit outputs
    cost = results['cost']
    assert cost['ort']['status'] == 'ok' and cost['ort']['latency_ms'] > 0
    assert cost['ort']['params'] == cost['torch']['params'] > 0
    # The exported graph computes the release formulation: its FLOPs are the paper's count.
    assert cost['ort']['flops'] == cost['ort']['paper_flops'] == cost['torch']['paper_flops'] > 0
    assert cost['ort']['fast_path'] is False


def test_onnxruntime_entry_checks(tiny_model, tmp_path):
    bench = _bench(tmp_path, tiny_model)
    bench['models'][1]['backend'] = 'tensorrt'
    with pytest.raises(BenchConfigError, match=r"backend='tensorrt'; expected one of \('pytorch', 'onnxruntime'\)"):
        check_bench_config(bench)
    # A file of another arch than the config's: the cell fails, saying so.
    prenet = tmp_path / 'prenet.py'
    prenet.write_text("model = dict(type='ImageRestorer', arch=dict(type='PReNet', recurrent_iter=1), "
                      "pixel_loss=dict(type='L1Loss'))\n")
    bench['models'] = [dict(bench['models'][1], backend='onnxruntime', config=str(prenet))]
    results = run_benchmark(bench, str(tmp_path / 'out'), progress=False, log=lambda *a: None,
                            measure_costs=False)
    cell = results['cells']['ort|Set']
    assert cell['status'] == 'failed' and 'holds a Restormer but its config' in cell['reason']
