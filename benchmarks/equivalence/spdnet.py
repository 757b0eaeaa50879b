"""SPDNet against Joyies/SPDNet ``src/model/spdnet.py`` (``Rainnet``; plain state_dicts).

The release imports ``pytorch_wavelets`` (not a restorelab dependency): install it outside
this environment's site-packages and put it on the path, e.g.::

    pip install --no-deps --target /tmp/pw pytorch-wavelets==1.3.0 PyWavelets
    PYTHONPATH=$PWD:/tmp/pw python benchmarks/official_equivalence.py spdnet --release DIR

The release runs its own code with that package unchanged, except:

- ``subnet`` calls ``.cuda()`` on its DWT modules; ``nn.Module.cuda`` is the identity while
  the module is built (CPU only here).
- The module is built with float64 as torch's default dtype, so pytorch_wavelets' Haar
  filters (made in the default dtype) are 1/sqrt(2) to float64 precision for the float64
  comparison; the float32 copy casts them to the float32 filters the release normally has.
- Random weights redraw every parameter, but not those filters (a checkpoint with other
  filters is not an SPDNet one), and are rounded to float32 values, which restorelab's
  float32 arch holds exactly after loading. The weight tensors are the default draw
  (N(0, 1/fan_in)) times ``WEIGHT_SCALE`` = 0.5: with the default draw the estimates grow
  from stage to stage (the IFM multiplies features by maps made of the same features) to
  about 1e14 at 32x32, where every absolute figure is meaningless; at 0.5 all three stay
  of order 1.
- The release takes and returns images in [0, 255] (``--rgb_range 255``): its forward
  here is ``Rainnet(255 x)[0] / 255`` (the final estimate; restorelab's arch takes [0, 1]).
"""
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import torch

from ._release import import_file

RELEASE = ('Joyies/SPDNet', 'c03b8d3b7d60705fdcefda73b3a39afc5198dcd4')
CONVERTER = 'spdnet'
SIZES = [(64, 64), (48, 80), (45, 71)]  # the last: odd sides, zero-padded by the DWTs
VARIANTS = {
    # The README's --n_feats 32 --n_resblocks 3 (the release needs n_feats=32).
    'SPDNet': dict(arch=dict(type='SPDNet'), official=dict(n_feats=32, n_resblocks=3)),
    'SPDNet-n_resblocks1': dict(arch=dict(type='SPDNet', n_resblocks=1),
                                official=dict(n_feats=32, n_resblocks=1)),
}
RGB_RANGE = 255.0
WEIGHT_SCALE = 0.5
_FILTERS = ('DWT.h', 'IDWT.g')


@contextmanager
def _cuda_is_identity_and_float64_default():
    cuda, dtype = torch.nn.Module.cuda, torch.get_default_dtype()
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.nn.Module.cuda = cuda
        torch.set_default_dtype(dtype)


def build_official(release_dir, official):
    try:
        import pytorch_wavelets  # noqa: F401
    except ImportError:
        raise SystemExit('the SPDNet release needs pytorch_wavelets: see the docstring of '
                         'benchmarks/equivalence/spdnet.py') from None
    src = Path(release_dir) / 'src'
    sys.path.insert(0, str(src))  # the release's "from model import common"
    spdnet = import_file(release_dir, 'src/model/spdnet.py')
    with _cuda_is_identity_and_float64_default():
        return spdnet.make_model(SimpleNamespace(**official))


def randomize(module, generator):
    from official_equivalence import default_randomize
    filters = {k: v.clone() for k, v in module.state_dict().items() if any(f in k for f in _FILTERS)}
    default_randomize(module, generator)
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if key in filters:
                value.copy_(filters[key])
            else:
                value.copy_((value * WEIGHT_SCALE if value.dim() > 1 else value).float())


def official_forward(module, x):
    return module(x * RGB_RANGE)[0] / RGB_RANGE


def compare(release_dir, variant, sizes, seed):
    """``compare_torch``'s figures, with the pytorch_wavelets version the release ran with."""
    import pytorch_wavelets
    from official_equivalence import compare_torch
    figures = compare_torch(sys.modules[__name__], release_dir, variant, sizes, seed)
    figures['pytorch_wavelets'] = pytorch_wavelets.__version__
    return figures
