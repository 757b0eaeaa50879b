"""Tiny models of every arch family for the ONNX tests."""
import os

# Tiny versions of every arch family, small enough to export and check in about a second each.
# Uformer's first level has two blocks so that a shifted window (and its mask) is exported.
TINY_ARCHS = {
    'DRSformer': dict(type='DRSformer', dim=8, num_blocks=[1, 1, 1, 1], heads=[1, 1, 2, 2],
                      ffn_expansion_factor=2.0, mefc_experts=4, mefc_steps=2),
    'Restormer': dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                      heads=[1, 1, 2, 2], ffn_expansion_factor=1.5),
    'Uformer': dict(type='Uformer', img_size=32, embed_dim=4, depths=[2, 1, 1, 1, 1, 1, 1, 1, 1],
                    num_heads=[1, 1, 2, 2, 4, 4, 2, 2, 1], win_size=2, drop_path_rate=0.0),
    'IDT': dict(type='IDT', img_size=32, embed_dim=4, depths=[1] * 9,
                num_heads=[1, 1, 2, 2, 4, 4, 2, 2, 1], win_size=2, drop_path_rate=0.0,
                spatial_win_size=2),
    'PRN': dict(type='PRN', recurrent_iter=2),
    'PReNet': dict(type='PReNet', recurrent_iter=2),
    'PRN_r': dict(type='PRN_r', recurrent_iter=2),
    'PReNet_r': dict(type='PReNet_r', recurrent_iter=2),
    'BRN': dict(type='BRN', recurrent_iter=2),
    'AIDNet': dict(type='AIDNet', recurrent_iter=2),
    'AIDNet-se': dict(type='AIDNet', recurrent_iter=2, attention='se', reduction=2),
    'RESCAN': dict(type='RESCAN', num_stages=2, depth=4, channels=6),
    'RESCAN-lstm-additive': dict(type='RESCAN', unit='ConvLSTM', prediction='additive',
                                 num_stages=2, depth=4, channels=6),
}

TINY_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'data', 'configs', 'tiny_rain200h.py')


def build_arch(name, seed=0):
    import torch
    from mmengine.registry import init_default_scope

    from restorelab.engine.setup import setup_engine
    from restorelab.registry import MODELS
    setup_engine()
    init_default_scope('restorelab')
    if name == 'DRSformer':
        import projects.drsformer.drsformer  # noqa: F401  registers the plugin
    torch.manual_seed(seed)
    return MODELS.build(TINY_ARCHS[name]).eval()


def tiny_shape(arch):
    side = max(16, arch.size_multiple)
    return side, side
