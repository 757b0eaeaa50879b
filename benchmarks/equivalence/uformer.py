"""Uformer-B (the zoo's Uformer, configs/uformer) against ZhendongWang6/Uformer ``model.py``
built as its ``utils/model_utils.py`` builds ``Uformer_B`` (embed_dim 32, depths
[1, 2, 8, 8, 2, 8, 8, 2, 1], window 8, linear projection, LeFF, modulator, dd_in 3) with
``img_size`` = its default ``train_ps`` 128, the weights saved as its train scripts save them
(``{'epoch', 'state_dict'}`` of an ``nn.DataParallel``: ``module.`` prefixes; the optimizer
state they also store is left out, the converter does not read it).

The release runs square inputs only (its blocks recover H = W = sqrt(tokens)), so both sizes
are square multiples of 128 (Uformer-B's ``size_multiple``): 128x128 (the bottleneck's
windows shrink to its 8x8 map, unshifted) and 256x256 (full 8x8 shifted windows
everywhere); no non-square size can be compared. ``timm`` is absent here: its three
helpers are stood in for (``_release.stub_timm_layers``)."""
import torch

from ._release import import_file, stub_timm_layers

RELEASE = ('ZhendongWang6/Uformer', '65fc970a8ffc09605faca74ed016ee93c9ad8a36')
CONVERTER = 'uformer'
SIZES = [(128, 128), (256, 256)]
_UFORMER_B = dict(img_size=128, embed_dim=32, win_size=8, token_projection='linear',
                  token_mlp='leff', depths=[1, 2, 8, 8, 2, 8, 8, 2, 1], modulator=True, dd_in=3)
VARIANTS = {
    'Uformer-B': dict(arch=dict(type='Uformer', img_size=128, embed_dim=32,
                                depths=(1, 2, 8, 8, 2, 8, 8, 2, 1), win_size=8,
                                token_projection='linear', token_mlp='leff', modulator=True),
                      official=_UFORMER_B),
}


def build_official(release_dir, official):
    stub_timm_layers()
    module = import_file(release_dir, 'model.py', module_name='_official_uformer')
    return module.Uformer(**official)


def save_release_checkpoint(module, path):
    torch.save({'epoch': 0, 'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()}},
               path)
