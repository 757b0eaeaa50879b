"""NeRD-Rain against cschenxiang/NeRD-Rain: ``model.py`` (NeRD-Rain, dim 48) and ``model_S.py``
(NeRD-Rain-S, dim 32), each ``MultiscaleNet()`` with its own defaults, weights saved as the
release's train.py saves them (``{'epoch', 'state_dict' from DataParallel, 'optimizer'}``).

Compared: the five images the release's loss supervises (S1 and S2 INR outputs, S1, S2 and S3
outputs: ``NeRDRain.forward_stages``' order), flattened and concatenated, so that every module's maths is covered, not only the
path to the final output. The release calls ``.cuda()`` on its INR module and on the coordinates it
builds in forward; here those calls leave modules and tensors where they are (on the CPU), while
the release's module is built and run.

    python benchmarks/official_equivalence.py nerd_rain --release CHECKOUT
"""
import contextlib

import torch

import projects.nerd_rain.nerd_rain  # noqa: F401 (registers NeRDRain and the 'nerd_rain' converter)

from ._release import import_file

RELEASE = ('cschenxiang/NeRD-Rain', '295f4fdfdfadec6db14fc3fa8640ba04a7aef261')
CONVERTER = 'nerd_rain'
SIZES = [(64, 64), (48, 80)]  # multiples of 16, one not square
VARIANTS = {
    'NeRD-Rain': dict(arch=dict(type='NeRDRain', dim=48), official='model.py'),
    'NeRD-Rain-S': dict(arch=dict(type='NeRDRain', dim=32), official='model_S.py'),
}
# The release's outputs are [S3, S2, S1, S2 INR, S2 input / 2, S1 INR, S1 input]; those its loss
# uses, in forward_stages' order (S1 INR, S2 INR, S1, S2, S3).
SUPERVISED = (5, 3, 2, 1, 0)


@contextlib.contextmanager
def _cuda_calls_stay_on_cpu():
    saved = torch.Tensor.cuda, torch.nn.Module.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.nn.Module.cuda = saved


def build_official(release_dir, official):
    import_file(release_dir, 'mlp.py', module_name='mlp')  # model.py's "from mlp import INR"
    module = import_file(release_dir, official, module_name=f'_official_nerd_rain_{official[:-3]}')
    with _cuda_calls_stay_on_cpu():
        return module.MultiscaleNet()


def save_release_checkpoint(module, path):
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)
    torch.save({'epoch': 3000,
                'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()},
                'optimizer': optimizer.state_dict()}, path)


def _flat(images):
    return torch.cat([image.flatten(1) for image in images], dim=1)


def official_forward(module, x):
    with _cuda_calls_stay_on_cpu():
        outputs = module(x)
    return _flat([outputs[i] for i in SUPERVISED])


def ours_forward(module, x):
    return _flat(module.forward_stages(x))
