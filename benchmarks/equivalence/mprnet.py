"""MPRNet against swz30/MPRNet: each released model's ``<Task>/MPRNet.py`` built with its own
defaults, its weights saved as the release's train.py saves them (``{'epoch', 'state_dict' from
DataParallel, 'optimizer'}``)."""
import torch

from ._release import import_file

RELEASE = ('swz30/MPRNet', '43feb2aed45f5e0b9082c78c8c455160e30a3a82')
CONVERTER = 'mprnet'
SIZES = [(64, 64), (48, 80)]  # multiples of 8, one not square
# restorelab's arch config per released model, and the release folder whose MPRNet.py builds it.
VARIANTS = {
    'deraining': dict(arch=dict(type='MPRNet'), official='Deraining'),
    'deblurring': dict(arch=dict(type='MPRNet', n_feat=96, scale_unetfeats=48, scale_orsnetfeats=32),
                       official='Deblurring'),
    'denoising': dict(arch=dict(type='MPRNet', n_feat=80, scale_unetfeats=48, scale_orsnetfeats=32),
                      official='Denoising'),
}


def build_official(release_dir, official):
    module = import_file(release_dir, f'{official}/MPRNet.py', module_name=f'_official_mprnet_{official}')
    return module.MPRNet()


def save_release_checkpoint(module, path):
    optimizer = torch.optim.Adam(module.parameters(), lr=2e-4)
    torch.save({'epoch': 250,
                'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()},
                'optimizer': optimizer.state_dict()}, path)
