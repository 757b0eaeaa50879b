"""check_config_keys: every section a run builds is checked against what its component
accepts before anything is built, with the closest accepted names."""
import glob
import os.path as osp

import pytest

from restorelab.engine import launch
from restorelab.engine.config_errors import check_config_keys
from restorelab.utils.errors import ConfigError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'quickstart', 'prenet_demo.py')

# (override, where the message points, the closest name it suggests)
TYPOS = [
    ({'train_dataloader.batchsize': 4}, '`train_dataloader` has', "'batch_size'"),
    ({'val_dataloader.sampler.shufle': False}, "`val_dataloader.sampler` (type='DefaultSampler')",
     "'shuffle'"),
    ({'train_dataloader.collate_fn': dict(type='default_collate', device='cpu')},
     '`train_dataloader.collate_fn`', 'accepts no keys'),
    ({'train_dataloader.dataset.rainn': {}}, "`train_dataloader.dataset` (type='SyntheticRainDataset')",
     "'rain'"),
    ({'train_dataloader.dataset.pipeline': [dict(type='PairedRandomCrop', patchsize=8)]},
     '`train_dataloader.dataset.pipeline[0]`', "'patch_size'"),
    ({'val_evaluator': [dict(type='PSNR', protocl='rcdnet')]}, '`val_evaluator[0]`', "'protocol'"),
    ({'default_hooks.logger.intervl': 5}, '`default_hooks.logger`', "'interval'"),
    ({'custom_hooks': [dict(type='EMAHook'), dict(type='SaveResultsHook', outdir='x')]},
     '`custom_hooks[1]`', "'out_dir'"),
    ({'visualizer.vis_backends': [dict(type='LocalVisBackend', savedir='x')]},
     '`visualizer.vis_backends[0]`', "'save_dir'"),
    ({'param_scheduler': [dict(type='CosineAnnealingLR', T_maxx=5)]}, '`param_scheduler[0]`',
     "'T_max'"),
    ({'log_processor.windowsize': 5}, "`log_processor` (type='LogProcessor')", "'window_size'"),
    ({'train_cfg.max_iter': 5}, '`train_cfg`', "'max_iters'"),
    ({'optim_wrapper.optimizer.lrr': 1e-3}, '`optim_wrapper.optimizer`', "'lr'"),
]


@pytest.mark.parametrize('override,where,close', TYPOS, ids=[next(iter(t[0])) for t in TYPOS])
def test_unknown_key_in_any_section_names_it_and_the_closest_names(override, where, close):
    cfg = launch.load_config(DEMO, override)
    with pytest.raises(ConfigError) as info:
        check_config_keys(cfg)
    msg = str(info.value)
    assert where in msg and close in msg, msg
    assert '\n' not in msg


def test_unknown_transform_type_names_the_registered_ones():
    cfg = launch.load_config(DEMO, {'train_dataloader.dataset.pipeline': [
        dict(type='PairedRandomCropp', patch_size=8)]})
    with pytest.raises(ConfigError, match=r"`train_dataloader.dataset.pipeline\[0\].type` names "
                       r"the type 'PairedRandomCropp'.*closest registered names are "
                       r"'PairedRandomCrop'"):
        check_config_keys(cfg)


def _one_config_per_folder():
    found = {}
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) +
                       glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py'))):
        if '_base_' not in path:
            found.setdefault(osp.dirname(path), path)
    return sorted(found.values())


@pytest.mark.parametrize('path', _one_config_per_folder(), ids=lambda p: osp.relpath(p, REPO))
def test_shipped_configs_pass(path):
    check_config_keys(launch.load_config(path))


def test_override_of_a_top_level_variable_already_used_names_the_keys_holding_it():
    with pytest.raises(ConfigError) as info:
        launch.load_config(DEMO, {'max_iters': 5})
    msg = str(info.value)
    assert "'max_iters' (its value 300 is in train_cfg.max_iters," in msg
    assert 'param_scheduler[0].T_max' in msg and 'default_hooks.checkpoint.interval' in msg
    assert msg.endswith('e.g. --cfg-options train_cfg.max_iters=5.')
    # Keys inside sections, and top-level variables the code reads, take effect as before.
    cfg = launch.load_config(DEMO, {'train_cfg.max_iters': 5, 'use_ema': True})
    assert cfg.train_cfg.max_iters == 5 and cfg.use_ema is True
