"""Every registered component builds from a config; registration is lazy."""
import importlib
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import restorelab.registry as registry
from restorelab.evaluation.functional.niqe import NIQE_NUM_FEATURES
from restorelab.utils.image_io import imwrite_rgb

# Registries whose components are built from configs, and the smallest
# arguments of each component. A component registered without an entry here
# fails `test_every_registered_component_builds`: add one.
BUILD_REGISTRIES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS', 'OPTIM_WRAPPERS')


def _build_args(tmp_path):
    folder = tmp_path / 'pairs'
    img = np.full((16, 16, 3), 100, np.uint8)
    for side in ('input', 'target'):
        imwrite_rgb(str(folder / side / '1.png'), img)
    niqe = tmp_path / 'niqe.npz'
    np.savez(niqe, mu_pris_param=np.zeros(NIQE_NUM_FEATURES),
             cov_pris_param=np.eye(NIQE_NUM_FEATURES))
    brisque = tmp_path / 'brisque.npz'
    np.savez(brisque, sv=np.zeros((1, 36)), sv_coef=np.ones(1), rho=0.0, gamma=0.05,
             range_min=np.zeros(36), range_max=np.ones(36))
    tiny_restormer = dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                          heads=[1, 1, 2, 2])
    return {
        'MODELS': {
            'ImageRestorer': dict(arch=tiny_restormer, pixel_loss=dict(type='L1Loss')),
            'RestorationDataPreprocessor': {},
            'Restormer': {k: v for k, v in tiny_restormer.items() if k != 'type'},
            'DRSformer': dict(dim=8, num_blocks=[1, 1, 1, 1], heads=[1, 1, 2, 2], use_mefc=False),
            'IDT': dict(img_size=32, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1],
                        win_size=2, spatial_win_size=2, spatial_k_bounds=(4, 4, 2, 2, 2, 2, 4, 4)),
            'Uformer': dict(embed_dim=8, depths=[1] * 9, num_heads=[1] * 9, win_size=4),
            'PReNet': dict(recurrent_iter=2), 'PReNet_r': dict(recurrent_iter=2),
            'PRN': dict(recurrent_iter=2), 'PRN_r': dict(recurrent_iter=2),
            'BRN': dict(recurrent_iter=1), 'AIDNet': dict(recurrent_iter=1, attention='se', reduction=2),
            'DualGCN': dict(channels=4),
            'MPRNet': dict(n_feat=8, scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1),
            'SPDNet': dict(n_feats=4, n_resblocks=1),
            'L1Loss': {}, 'MSELoss': {}, 'CharbonnierLoss': {}, 'PSNRLoss': {}, 'SSIMLoss': {},
            'EdgeLoss': {}, 'CompositeLoss': dict(losses=[dict(type='L1Loss')]),
            'RESCAN': dict(num_stages=2, depth=3, channels=4),
            'MultiStageLoss': dict(loss=dict(type='MSELoss')),
            'DDN': dict(num_units=1), 'MSPFN': dict(num_ffms=1), 'Laplacian3x3EdgeLoss': {},
            'SPANet': dict(channels=4, num_head_blocks=1, num_attentive_stages=1, blocks_per_stage=1,
                           num_tail_blocks=1),
            'AttentionMaskLoss': dict(loss=dict(type='L1Loss')),
            'RCDNet': dict(stages=1, num_M=2, num_Z=2, num_blocks=1),
            'FFTLoss': {}, 'MultiScaleLoss': dict(terms=[dict(outputs=[0], loss=dict(type='L1Loss'))]),
            # projects/fadformer and projects/nerd_rain (registered once the plugin is imported)
            'FADformer': dict(dim=8, depths=[1, 1, 1, 1, 1]), 'FrequencyContrastiveLoss': {},
            'NeRDRain': dict(dim=8, num_blocks=[1, 1, 1], heads=[1, 1, 2], inr_hidden=[16, 16]),
        },
        'DATASETS': {
            'PairedImageDataset': dict(data_root=str(folder),
                                       data_prefix=dict(img='input', gt='target')),
            'SingleImageDataset': dict(data_root=str(folder), data_prefix=dict(img='input')),
            'SavedResultsDataset': dict(results_dir=str(folder / 'input'),
                                        gt_dir=str(folder / 'target')),
            'SyntheticRainDataset': dict(data_root=str(folder), data_prefix=dict(gt='target')),
        },
        'TRANSFORMS': {
            'LoadImageFromFile': dict(key='img'), 'PackInputs': {}, 'AddSyntheticRain': {},
            'PairedRandomCrop': dict(patch_size=8), 'PairedRandomFlip': {},
            'PairedRandomRot90': {}, 'PairedRandomTranspose': {},
            'PairedRandomResizedCrop': dict(size=8),
        },
        'METRICS': {'PSNR': {}, 'SSIM': {}, 'NIQE': dict(params_file=str(niqe)),
                    'BRISQUE': dict(params_file=str(brisque))},
        'HOOKS': {
            'ComparisonVisualizationHook': {}, 'SaveResultsHook': dict(out_dir=str(tmp_path)),
            'ProgressiveLearningHook': dict(stage_iters=[1], patch_sizes=[8], batch_sizes=[1]),
            'AtomicCheckpointHook': dict(interval=2, by_epoch=False),
            'StopSignalHook': {}, 'NonFiniteGuardHook': dict(max_consecutive=2),
            'CheckpointFitHook': {}, 'WatchdogHook': dict(timeout=30),
        },
        'OPTIM_WRAPPERS': {
            'CPUAmpOptimWrapper': dict(
                optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)),
        },
    }


@pytest.mark.parametrize('name', BUILD_REGISTRIES)
def test_every_registered_component_builds(name, tmp_path):
    # The plugins' components too (a plugin registers when imported).
    for plugin in ('projects.drsformer.drsformer', 'projects.fadformer.fadformer',
                   'projects.nerd_rain.nerd_rain'):
        if importlib.util.find_spec(plugin.rsplit('.', 1)[0]) is not None:
            importlib.import_module(plugin)
    init_default_scope('restorelab')
    reg = getattr(registry, name)
    reg.import_from_location()
    args = _build_args(tmp_path)[name]
    # Components of restorelab itself, not those other test modules register.
    registered = {n for n, obj in reg.module_dict.items()
                  if obj.__module__.split('.')[0] in ('restorelab', 'projects')}
    missing = registered - set(args)
    assert not missing, f'{name}: add build arguments for {sorted(missing)} to this test'
    for type_name in sorted(registered):
        obj = reg.build(dict(type=type_name, **args[type_name]))
        assert type(obj) is reg.get(type_name), type_name


def test_checkpoint_converters_are_functions():
    registry.CHECKPOINT_CONVERTERS.import_from_location()
    assert {'restormer', 'prenet'} <= set(registry.CHECKPOINT_CONVERTERS.module_dict)
    assert all(callable(f) for f in registry.CHECKPOINT_CONVERTERS.module_dict.values())


def test_registries_are_children_of_mmengine_roots():
    from mmengine import registry as root
    for name in BUILD_REGISTRIES:
        child = getattr(registry, name)
        assert child.scope == 'restorelab'
        assert child.parent is getattr(root, name)


def test_building_imports_lazily_in_a_fresh_process():
    code = (
        'import sys\n'
        'from mmengine.registry import init_default_scope\n'
        'from restorelab.registry import MODELS, TRANSFORMS\n'
        "assert 'restorelab.models' not in sys.modules\n"
        "init_default_scope('restorelab')\n"
        "m = MODELS.build(dict(type='PReNet', recurrent_iter=1))\n"
        "t = TRANSFORMS.build(dict(type='PairedRandomCrop', patch_size=4))\n"
        "print(type(m).__module__, type(t).__module__)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['restorelab.models.archs.prenet',
                                  'restorelab.datasets.transforms.geometric']


def test_unknown_type_names_the_registry():
    init_default_scope('restorelab')
    with pytest.raises(KeyError, match='Restormerr is not in the restorelab::model registry'):
        registry.MODELS.build(dict(type='Restormerr'))
