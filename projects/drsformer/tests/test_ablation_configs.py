"""The ablation configs (configs/ablations/): one per row of the paper's Sec. 4.3, each the Rain200H release
config with only its variant changed; each builds at full size with the parameter count of the README's
table, and trains a few iterations at tiny size through tools/train.py's machinery."""
import math
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from restorelab.engine import launch

ROOT = Path(__file__).resolve().parents[3]
ABLATIONS = ROOT / 'projects' / 'drsformer' / 'configs' / 'ablations'
RELEASE_CONFIG = ROOT / 'projects' / 'drsformer' / 'configs' / 'drsformer_rain200h.py'

# config name -> (the arch options it changes, full-size parameters, published PSNR / SSIM or None when
# the paper plots the value only in a figure)
EXPECTED = {
    'drsformer_full': ({}, 33_655_424, '32.18 / 0.9330'),
    'drsformer_ffn-fn': ({'ffn_type': 'fn'}, 21_633_056, '31.84 / 0.9275'),
    'drsformer_ffn-dfn': ({'ffn_type': 'dfn'}, 21_802_940, '31.88 / 0.9279'),
    'drsformer_ffn-gdfn': ({'ffn_type': 'gdfn'}, 26_700_440, '31.97 / 0.9286'),
    'drsformer_mefc-none': ({'use_mefc': False}, 32_610_304, '32.03 / 0.9308'),
    'drsformer_mefc-early': ({'mefc_positions': ['early']}, 32_841_120, '32.01 / 0.9311'),
    'drsformer_mefc-final': ({'mefc_positions': ['final']}, 33_424_608, '32.07 / 0.9328'),
    'drsformer_experts-1': ({'mefc_experts': 1}, 32_770_432, '32.06 / 0.9316'),
    'drsformer_experts-4': ({'mefc_experts': 4}, 33_123_488, '32.14 / 0.9325'),
    'drsformer_attn-dense': ({'topk_fractions': None}, 33_655_264, None),
    'drsformer_topk-1-2': ({'topk_fractions': [[1, 2]]}, 33_655_264, None),
    'drsformer_topk-1-4to1-2': ({'topk_fractions': [[1, 4], [1, 3], [1, 2]]}, 33_655_384, None),
    'drsformer_topk-1-2to2-3': ({'topk_fractions': [[1, 2], [2, 3]]}, 33_655_344, None),
    'drsformer_topk-1-2to3-4': ({'topk_fractions': [[1, 2], [2, 3], [3, 4]]}, 33_655_384, None),
    'drsformer_topk-1-2to5-6': ({'topk_fractions': [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]}, 33_655_464, None),
}
CONFIGS = sorted(p.name[:-len('_rain200h.py')] for p in ABLATIONS.glob('*_rain200h.py'))

# What makes a run tiny (dim 8, one block per level, 2 patches of 16x16, a few iterations).
TINY_OPTIONS = {
    'model.arch.dim': 8, 'model.arch.num_blocks': [1, 1, 1, 1], 'model.arch.heads': [1, 1, 2, 2],
    'total_batch_size': 2, 'train_dataloader.dataset.pipeline.2.patch_size': 16,
    'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0, 'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
    'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1,
    'default_hooks.visualization.num_images': 0,
    'visualizer.vis_backends': [dict(type='LocalVisBackend')],
}


def test_one_config_per_row():
    assert CONFIGS == sorted(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_config_is_the_release_recipe_with_its_variant(name):
    changes, _, published = EXPECTED[name]
    path = ABLATIONS / f'{name}_rain200h.py'
    cfg = Config.fromfile(path).to_dict()
    release = Config.fromfile(RELEASE_CONFIG).to_dict()
    arch, release_arch = cfg['model'].pop('arch'), release['model'].pop('arch')
    assert {k: v for k, v in arch.items() if k not in release_arch or release_arch[k] != v} == changes
    for d in (cfg, release):
        d.pop('use_mefc')
    assert cfg == release  # data, recipe, schedule, evaluation: all Rain200H as released
    header = path.read_text().split('\n_base_')[0]
    assert re.search(r'(Table [34]|Fig\. [67])', header), header
    if published is not None:
        assert published in header
    else:
        assert 'figure' in header.lower()


@pytest.fixture(scope='module')
def tiny_rain200h(tmp_path_factory):
    """Synthetic rain on two of scikit-image's photographs, in the Rain200H layout (small images)."""
    from restorelab.datasets.synthetic_rain import export_skimage_photos, write_synthetic_pairs
    root = tmp_path_factory.mktemp('tiny_rain200h')
    export_skimage_photos(str(root / 'clean'), ('coffee', 'chelsea'), max_side=40)
    write_synthetic_pairs(str(root / 'clean'), str(root / 'train'), n_per_image=2, seed=0)
    write_synthetic_pairs(str(root / 'clean'), str(root / 'test'), n_per_image=1, seed=1)
    return root


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_builds_full_size_and_trains_tiny(name, tiny_rain200h, tmp_path):
    _, params, _ = EXPECTED[name]
    path = str(ABLATIONS / f'{name}_rain200h.py')
    cfg = launch.load_config(path)
    from restorelab.registry import MODELS
    with torch.device('meta'):
        full = MODELS.build(cfg.model.arch)
    assert sum(p.numel() for p in full.parameters()) == params

    options = dict(TINY_OPTIONS, **{f'{loader}.dataset.data_root': str(tiny_rain200h)
                                    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')})
    cfg = launch.load_config(path, options)
    launch.set_work_dir(cfg, path, str(tmp_path / name))
    launch.apply_total_batch_size(cfg, 1)
    runner = launch.build_runner(cfg)
    runner.train()
    arch = runner.model.arch
    tiny_params = sum(p.numel() for p in arch.parameters())
    print(f'{name}: {params:,} parameters at full size, {tiny_params:,} at tiny size')
    assert runner.iter == 2 and (tmp_path / name / 'iter_2.pth').is_file()
    metrics = runner.message_hub.get_scalar('val/Rain200H/PSNR').current()
    assert math.isfinite(metrics)
    assert all(torch.isfinite(p).all() for p in arch.parameters())


def test_benchmark_config_lists_every_ablation_at_its_training_output():
    """configs/benchmarks/drsformer_ablations.py passes restorelab's check and points each model at the final
    checkpoint that ``tools/train.py CONFIG`` writes (work_dirs/<config name>/iter_<max_iters>.pth)."""
    from restorelab.benchmark.config import check_bench_config
    bench = check_bench_config(str(ROOT / 'projects/drsformer/configs/benchmarks/drsformer_ablations.py'))
    assert [d['name'] for d in bench['datasets']] == ['Rain200H'] and bench['cost']['shape'] == (3, 256, 256)
    listed = {}
    for model in bench['models']:
        config = Path(model['config'])
        cfg = launch.set_work_dir(Config.fromfile(ROOT / config), str(config))
        assert model['checkpoint'] == f'{cfg.work_dir}/iter_{cfg.train_cfg.max_iters}.pth'
        listed[config.name[:-len('_rain200h.py')]] = model['name']
    assert sorted(listed) == sorted(EXPECTED)
