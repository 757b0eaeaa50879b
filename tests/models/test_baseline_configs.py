"""Every baseline config under configs/{restormer,uformer,idt,prenet,brn,aidnet,dualgcn,rescan,spanet}
loads with mmengine's Config.fromfile and is wired to the arch, dataset and protocol its file
name says."""
from pathlib import Path

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
METHODS = {'restormer': 'Restormer', 'uformer': 'Uformer', 'idt': 'IDT', 'prenet': 'PReNet',
           'brn': 'BRN', 'aidnet': 'AIDNet', 'dualgcn': 'DualGCN', 'rescan': 'RESCAN',
           'spanet': 'SPANet'}
# configs/prenet/ also holds the released PReNet variants: file-name prefix -> arch.
PRENET_VARIANTS = {'prenet_r': 'PReNet_r', 'prn_r': 'PRN_r', 'prn': 'PRN', 'prenet': 'PReNet'}
# file-name suffix -> (dataset folder under data/, evaluation protocol)
DATASETS = {
    'rain100l': ('Rain100L', 'restormer'),
    'rain100h': ('Rain100H', 'restormer'),
    'rain200l': ('Rain200L', 'restormer'),
    'rain200h': ('Rain200H', 'restormer'),
    'did_data': ('DID-Data', 'rcdnet'),
    'ddn_data': ('DDN-Data', 'rcdnet'),
    'spa_data': ('SPA-Data', 'restormer'),
}
REQUIRED = ('rain200l', 'rain200h', 'did_data', 'ddn_data', 'spa_data')
# The PReNet, BRN and AIDNet papers scored Rain100L/H with their MATLAB statistic scripts.
STATISTIC_SCRIPT_FAMILIES = ('prenet', 'brn', 'aidnet')
# BRN and AIDNet: the sets their releases trained (and published weights for).
REQUIRED_BY_METHOD = {'brn': ('rain100h', 'rain100l'), 'aidnet': ('rain100h', 'rain100l'),
                      'rescan': ('rain200h', 'rain200l'),
                      'spanet': ('spa_data', 'rain200h', 'rain200l')}

CONFIGS = sorted(p for m in METHODS for p in (REPO / 'configs' / m).glob('*.py'))


def _dataset_suffix(path):
    matches = [s for s in DATASETS if path.stem.endswith('_' + s)]
    assert len(matches) == 1, f'{path.name}: no known dataset suffix'
    return matches[0]


def _expected_arch(path):
    if path.parent.name != 'prenet':
        return METHODS[path.parent.name]
    prefix = max((p for p in PRENET_VARIANTS if path.stem.startswith(p + '_')), key=len)
    return PRENET_VARIANTS[prefix]


def _train_dataset(cfg):
    ds = cfg.train_dataloader.dataset
    while ds.get('type') == 'RepeatDataset':
        ds = ds.dataset
    return ds


@pytest.mark.parametrize('method', sorted(METHODS))
def test_every_baseline_has_every_benchmark_set(method):
    for suffix in REQUIRED_BY_METHOD.get(method, REQUIRED):
        assert (REPO / 'configs' / method / f'{method}_{suffix}.py').is_file(), \
            f'configs/{method}/{method}_{suffix}.py missing'


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_baseline_config(path):
    cfg = Config.fromfile(str(path))
    assert cfg.model.arch.type == _expected_arch(path)

    suffix = _dataset_suffix(path)
    folder, protocol = DATASETS[suffix]
    expected_protocol = ('rcdnet' if suffix.startswith('rain100')
                         and path.parent.name in STATISTIC_SCRIPT_FAMILIES else protocol)
    train_ds = _train_dataset(cfg)
    for ds in (train_ds, cfg.val_dataloader.dataset, cfg.test_dataloader.dataset):
        assert ds.type == 'PairedImageDataset'
        assert ds.data_root == f'data/{folder}', (path.name, ds.data_root)
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert {e.type for e in evaluator} == {'PSNR', 'SSIM'}
        for e in evaluator:
            assert e.protocol == expected_protocol, (path.name, e.type, e.protocol)
            assert e.prefix == folder

    # The training set is read the way its dataset base config reads it.
    val_ds = cfg.val_dataloader.dataset
    assert bool(train_ds.get('side_by_side')) == bool(val_ds.get('side_by_side'))
    assert bool(train_ds.get('ann_file')) == bool(val_ds.get('ann_file'))
    assert train_ds.get('filename_tmpl') == val_ds.get('filename_tmpl')
    # Both read the same copies of the set (Rain100: layout='jorder' or 'numbered').
    assert set(train_ds.get('layouts') or {}) == set(val_ds.get('layouts') or {})
    assert train_ds.pipeline[-1].type == 'PackInputs'
    # A random crop of the pair (SPANet's release crops a random window and resizes it).
    assert any(t.type in ('PairedRandomCrop', 'PairedRandomResizedCrop') for t in train_ds.pipeline)


@pytest.mark.parametrize('variant', ['prn', 'prenet_r', 'prn_r'])
@pytest.mark.parametrize('dataset', ['rain100h', 'rain100l'])
def test_prenet_variants_train_with_the_prenet_recipe(variant, dataset):
    """The release's train_PRN.py, train_PReNet_r.py and train_PRN_r.py differ from
    train_PReNet.py only in the model class: so do the configs."""
    prenet = Config.fromfile(str(REPO / 'configs' / 'prenet' / f'prenet_{dataset}.py')).to_dict()
    cfg = Config.fromfile(str(REPO / 'configs' / 'prenet' / f'{variant}_{dataset}.py')).to_dict()
    assert cfg['model']['arch'] == dict(type=PRENET_VARIANTS[variant], recurrent_iter=6)
    for c in (prenet, cfg):
        del c['model']['arch']
    assert cfg == prenet

    from restorelab.apis import init_model
    model = init_model(str(REPO / 'configs' / 'prenet' / f'{variant}_{dataset}.py'))
    assert type(model.arch).__name__ == {'prn': 'PRN', 'prenet_r': 'PReNetRecursive',
                                         'prn_r': 'PRNRecursive'}[variant]
