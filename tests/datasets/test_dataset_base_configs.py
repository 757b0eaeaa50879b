"""Every base dataset config loads, names the agreed evaluators, and builds its train and
test datasets on a generated folder tree laid out as that set ships."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from restorelab.datasets import DatasetLayoutError
from restorelab.registry import DATASETS
from restorelab.utils.image_io import imwrite_rgb

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'
RNG = np.random.default_rng(0)


def img(path, h=12, w=16):
    imwrite_rgb(str(path), RNG.integers(0, 256, (h, w, 3), dtype=np.uint8))


def tree_same_names(root):
    for split in ('train', 'test'):
        for name in ('1', '2'):
            img(root / split / 'input' / f'{name}.png')
            img(root / split / 'target' / f'{name}.png')
    return 2, 2


def tree_rain100(root):
    for split, names in (('train', ['1', '2', '3']), ('test', ['001', '002'])):
        for n in names:
            img(root / split / 'rain' / f'rain-{n}.png')
            img(root / split / 'norain' / f'norain-{n}.png')
    return 3, 2


def tree_ddn(root):
    for split, ids in (('training', [1, 2]), ('testing', [901])):
        for i in ids:
            img(root / split / 'ground_truth' / f'{i}.jpg')
            for k in (1, 2, 14):
                img(root / split / 'rainy_image' / f'{i}_{k}.jpg')
    return 6, 3


def tree_did(root):
    for density in ('Rain_Heavy', 'Rain_Medium', 'Rain_Light'):
        img(root / 'train' / density / 'train2018new' / '0.jpg', 12, 32)
    img(root / 'test' / '0.jpg', 12, 32)
    img(root / 'test' / '1.jpg', 12, 32)
    return 3, 2


def tree_spa(root):
    lines = []
    for n in ('000-0_1', '000-0_2'):
        img(root / 'real_world/000/000-0' / f'{n}.png')
        img(root / 'real_world_gt/000/000-0' / f'{n}.png')
        lines.append(f'./real_world/000/000-0/{n}.png ./real_world_gt/000/000-0/{n}.png')
    (root / 'real_world.txt').write_text('\n'.join(lines) + '\n')
    img(root / 'real_test_1000/rain/1.png')
    img(root / 'real_test_1000/gt/1gt.png')
    (root / 'real_test_1000.txt').write_text('/real_test_1000/rain/1.png /real_test_1000/gt/1gt.png\n')
    return 2, 1


def tree_rain13k(root):
    for folder in ('train', 'test/Rain100L', 'test/Rain100H'):
        for name in ('1', '2'):
            img(root / folder / 'input' / f'{name}.jpg')
            img(root / folder / 'target' / f'{name}.jpg')
    return 2, 2


LAYOUTS = {
    'rain13k.py': ('Rain13K', 'restormer', tree_rain13k),
    'rain200l.py': ('Rain200L', 'restormer', tree_same_names),
    'rain200h.py': ('Rain200H', 'restormer', tree_same_names),
    'rain100l.py': ('Rain100L', 'restormer', tree_rain100),
    'rain100h.py': ('Rain100H', 'restormer', tree_rain100),
    'spa_data.py': ('SPA-Data', 'restormer', tree_spa),
    'did_data.py': ('DID-Data', 'rcdnet', tree_did),
    'ddn_data.py': ('DDN-Data', 'rcdnet', tree_ddn),
}
# The metrics' prefix where it is not the folder's name: Rain13K validates and tests on one of
# its five test sets.
METRIC_PREFIX = {'rain13k.py': 'Rain100L'}


def test_every_dataset_config_is_covered():
    # real_rain.py: photos without ground truth, scored with NIQE/BRISQUE
    # (tests/tools/test_benchmark_real_photos.py builds and runs it).
    configs = {p.name for p in CONFIG_DIR.glob('*.py')} - {'paired_pipelines.py', 'paired_loaders.py',
                                                            'real_rain.py'}
    assert configs == set(LAYOUTS)


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_config_loads_and_builds_on_a_generated_tree(name, tmp_path):
    prefix, protocol, make_tree = LAYOUTS[name]
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    assert cfg.data_root == f'data/{prefix}'
    assert cfg.train_patch_size == 128 and cfg.train_batch_size == 4
    metric_prefix = METRIC_PREFIX.get(name, prefix)
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator == [dict(type='PSNR', protocol=protocol, prefix=metric_prefix),
                             dict(type='SSIM', protocol=protocol, prefix=metric_prefix)]
    train = cfg.train_dataloader
    assert train.batch_size == 4 and train.sampler == dict(type='InfiniteSampler', shuffle=True)
    assert dict(type='PairedRandomCrop', patch_size=128) in train.dataset.pipeline
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.batch_size == 1
        assert loader.sampler == dict(type='DefaultSampler', shuffle=False)

    init_default_scope('restorelab')
    empty_cfg = copy.deepcopy(train.dataset.to_dict())
    empty_cfg['data_root'] = str(tmp_path)
    with pytest.raises(DatasetLayoutError, match='Expected layout') as err:
        DATASETS.build(empty_cfg)  # nothing downloaded yet: one clear error at build time
    assert str(tmp_path) in str(err.value)

    n_train, n_test = make_tree(tmp_path)
    train_cfg = copy.deepcopy(train.dataset.to_dict())
    train_cfg['data_root'] = str(tmp_path)
    train_ds = DATASETS.build(train_cfg)
    assert len(train_ds) == n_train
    item = train_ds[0]
    assert item['inputs'].shape == (3, 128, 128)  # small images are padded, then cropped
    assert item['data_samples'].gt_img.shape == (3, 128, 128)
    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset.to_dict())
    test_cfg['data_root'] = str(tmp_path)
    test_ds = DATASETS.build(test_cfg)
    assert len(test_ds) == n_test
    sample = test_ds[0]['data_samples']
    assert sample.gt_img.shape == test_ds[0]['inputs'].shape
    assert sample.ori_shape == (12, 16) and sample.bit_depth == 8


def test_dataloader_yields_a_batch(tmp_path):
    tree_same_names(tmp_path)
    cfg = Config.fromfile(str(CONFIG_DIR / 'rain200h.py'))
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    loader_cfg['dataset']['data_root'] = str(tmp_path)
    init_default_scope('restorelab')
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    assert len(batch['inputs']) == 2 and batch['inputs'][0].shape == (3, 128, 128)
    assert batch['inputs'][0].dtype == torch.float32


def test_child_config_changes_patch_size_as_documented(tmp_path):
    child = tmp_path / 'method.py'
    child.write_text(
        f"_base_ = [{str(CONFIG_DIR / 'rain200h.py')!r}]\n"
        'train_patch_size = 64\n'
        'train_dataloader = dict(dataset=dict(pipeline=[\n'
        '    *_base_.load_pair_pipeline,\n'
        "    dict(type='PairedRandomCrop', patch_size=train_patch_size),\n"
        '    *_base_.augment_pipeline,\n'
        "    dict(type='PackInputs'),\n"
        ']))\n')
    cfg = Config.fromfile(str(child))
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert dict(type='PairedRandomCrop', patch_size=64) in pipeline
    assert len(pipeline) == 6 and pipeline[-1] == dict(type='PackInputs')
    assert cfg.train_dataloader.batch_size == 4  # the rest of the loader is inherited
    assert cfg.train_dataloader.dataset.data_prefix == dict(img='train/input', gt='train/target')


def test_did_config_override_for_split_folders(tmp_path):
    """The override the DID-Data docstring gives for an input/target copy works."""
    tree_same_names(tmp_path)
    child = tmp_path / 'did_split.py'
    child.write_text(
        f"_base_ = [{str(CONFIG_DIR / 'did_data.py')!r}]\n"
        "test_dataloader = dict(dataset=dict(side_by_side=None, "
        "data_prefix=dict(img='test/input', gt='test/target')))\n")
    cfg = Config.fromfile(str(child))
    ds_cfg = cfg.test_dataloader.dataset.to_dict()
    ds_cfg['data_root'] = str(tmp_path)
    init_default_scope('restorelab')
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 2 and ds.get_data_info(0)['gt_path'].endswith('test/target/1.png')


def tree_numbered(root):
    for split, n in (('train', 3), ('test', 12)):
        for i in range(1, n + 1):
            img(root / split / 'input' / f'{i}.png')
            img(root / split / 'target' / f'{i}.png')
    return 3, 12


@pytest.mark.parametrize('name', ['rain100l.py', 'rain100h.py'])
def test_rain100_input_target_copies_by_one_option(name, tmp_path):
    """layout='numbered' reads the input/target copies with 1.png names; 'jorder' (the
    default) the original names; the keys come in natural order (1, 2, ..., 10, 11, 12)."""
    jorder, numbered = tmp_path / 'jorder', tmp_path / 'numbered'
    tree_rain100(jorder)
    n_train, n_test = tree_numbered(numbered)
    child = tmp_path / 'numbered_copy.py'
    child.write_text(f"_base_ = [{str(CONFIG_DIR / name)!r}]\n"
                     "test_dataloader = dict(dataset=dict(layout='numbered'))\n"
                     "train_dataloader = dict(dataset=dict(layout='numbered'))\n")
    init_default_scope('restorelab')
    for path, root, sizes in ((CONFIG_DIR / name, jorder, (3, 2)),
                              (child, numbered, (n_train, n_test))):
        cfg = Config.fromfile(str(path))
        built = []
        for loader in (cfg.train_dataloader, cfg.test_dataloader):
            ds_cfg = loader.dataset.to_dict()
            ds_cfg['data_root'] = str(root)
            built.append(DATASETS.build(ds_cfg))
        assert tuple(len(ds) for ds in built) == sizes
    keys = [built[1].get_data_info(i)['key'] for i in range(n_test)]
    assert keys == [str(i) for i in range(1, 13)]
    assert built[1].get_data_info(0)['gt_path'].endswith('test/target/1.png')
    # A wrong copy name lists the copies and what each reads.
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    ds_cfg = dict(cfg.test_dataloader.dataset.to_dict(), data_root=str(numbered), layout='input')
    with pytest.raises(DatasetLayoutError, match=r"unknown layout 'input'; this set lists "
                       r"jorder: img='test/rain', gt='test/norain' named 'rain-\{\}' -> "
                       r"'norain-\{\}'; numbered: img='test/input', gt='test/target'"):
        DATASETS.build(ds_cfg)
    # Folders given beside the listed copies are ambiguous: refused, not silently ignored.
    ds_cfg = dict(cfg.test_dataloader.dataset.to_dict(), data_root=str(numbered),
                  data_prefix=dict(img='test/input', gt='test/target'))
    with pytest.raises(DatasetLayoutError, match=r"data_prefix given beside layouts=\['jorder', "
                       r"'numbered'\]"):
        DATASETS.build(ds_cfg)


def test_rain13k_other_test_set_by_the_documented_options(tmp_path):
    """The --cfg-options the Rain13K docstring gives test on Rain100H under its own name."""
    tree_rain13k(tmp_path)
    cfg = Config.fromfile(str(CONFIG_DIR / 'rain13k.py'))
    assert cfg.test_sets == ('Rain100H', 'Rain100L', 'Test100', 'Test1200', 'Test2800')
    cfg.merge_from_dict({'test_dataloader.dataset.data_prefix.img': 'test/Rain100H/input',
                         'test_dataloader.dataset.data_prefix.gt': 'test/Rain100H/target',
                         'test_evaluator.0.prefix': 'Rain100H', 'test_evaluator.1.prefix': 'Rain100H'})
    assert [e.prefix for e in cfg.test_evaluator] == ['Rain100H', 'Rain100H']
    assert [e.prefix for e in cfg.val_evaluator] == ['Rain100L', 'Rain100L']
    init_default_scope('restorelab')
    ds = DATASETS.build(dict(cfg.test_dataloader.dataset.to_dict(), data_root=str(tmp_path)))
    assert len(ds) == 2 and ds.get_data_info(0)['gt_path'].endswith('test/Rain100H/target/1.jpg')
