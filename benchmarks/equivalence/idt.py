"""IDT against jiexiaou/IDT ``model.py`` at the deraining options of its train_derain.py and
test.py (embed_dim 32, depths [3, 3, 2, 2, 1, 1, 2, 2, 3], heads [1, 2, 4, 8, 16, 16, 8, 4, 2],
window 8, qkv bias), the weights saved as its train_derain.py saves them (the state_dict of
an ``nn.DataParallel``: ``module.`` prefixes).

The release runs only ``img_size x img_size`` inputs: its blocks recover H = W =
sqrt(tokens) and its spatial attention is built for the window grid at ``img_size`` (with a
kernel of the positional conv that depends on that grid, so the parameters differ between
``img_size`` 128 and 256). Each size S is therefore compared on a pair built for it: the
release's ``IDT(img_size=S)`` and restorelab's ``IDT(img_size=S)``, from the same seed.
128x128 is the released model (``img_size`` 128, the training patch; its full-size test
tiles 128x128 patches); 256x256 is the same code built for 256. No non-square size can be
compared. ``timm`` is stood in for (``_release.stub_timm_layers``: the checkout's vendored
timm needs torchvision)."""
import types

import torch

from ._release import import_file, stub_timm_layers

RELEASE = ('jiexiaou/IDT', 'd72510c53af6d45eac5c22092e7a4dde9c64877f')
CONVERTER = 'idt'
SIZES = [(128, 128), (256, 256)]  # square multiples of 128 (size_multiple); each its img_size
_RELEASE_OPTIONS = dict(in_chans=3, embed_dim=32, depths=[3, 3, 2, 2, 1, 1, 2, 2, 3],
                        num_heads=[1, 2, 4, 8, 16, 16, 8, 4, 2], win_size=8, mlp_ratio=4.0,
                        qkv_bias=True)
VARIANTS = {'IDT': dict(arch=dict(type='IDT'), official=_RELEASE_OPTIONS)}


def build_official(release_dir, official):
    stub_timm_layers()
    module = import_file(release_dir, 'model.py', module_name='_official_idt')
    return module.IDT(**official)


def save_release_checkpoint(module, path):
    torch.save({f'module.{k}': v for k, v in module.state_dict().items()}, path)


def compare(release_dir, variant, sizes, seed):
    """``compare_torch`` once per size, on the official and restorelab models built with
    ``img_size`` = that size; the figures of every size in one dict."""
    from official_equivalence import compare_torch

    spec = VARIANTS[variant]
    figures = {}
    for h, w in sizes:
        if h != w:
            raise SystemExit(f'IDT: size {h}x{w}: the release runs square img_size x img_size '
                             'inputs only')
        sized = types.SimpleNamespace(
            CONVERTER=CONVERTER, VARIANTS={variant: dict(arch=dict(spec['arch'], img_size=h),
                                                         official=dict(spec['official'], img_size=h))},
            build_official=build_official, save_release_checkpoint=save_release_checkpoint)
        row = compare_torch(sized, release_dir, variant, [(h, w)], seed)
        figures.setdefault('params', row['params'])  # at the first size
        figures.setdefault('official_params', row['official_params'])
        figures[f'params_img_size_{h}'] = row['params']
        figures[f'{h}x{w}'] = row[f'{h}x{w}']
    return figures
