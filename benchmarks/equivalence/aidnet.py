"""AIDNet against cuiyixin555/AIDNet ``networks/generator_aid135.py`` (class ``BRN``, the
variant ``AID_location135``, 8 stages as its test_AID.py builds it), weights saved as its
training scripts save them (a plain state_dict, with the unused ``res_conv4_r``/
``res_conv5_r`` the converter drops).

As published the release's class cannot run or load either released file: ``__init__``
builds ``self.aid_module = AID(32)`` (a CBAM with reduction 2) and ``forward`` calls
``self.cbam_module``; the Rain100H file holds a CBAM with reduction 16 as ``cbam_module``,
the Rain100L file a squeeze-and-excitation block as ``seblock``, for which the release has
no code (see restorelab/models/archs/aidnet.py). ``build_official`` applies the fewest
changes that make the class load each file, to the source text in memory (the checkout is
not modified), and fails if a line to change is not found:

* 'cbam' (Rain100H): ``self.aid_module = AID(32)`` -> ``self.cbam_module = AID(32,
  reduction_ratio=16)``; nothing else (``AID`` is the release's CBAM in networks/aid.py);
* 'se' (Rain100L): ``self.aid_module = AID(32)`` -> ``self.seblock = SEBlock(32, 2)`` and
  every ``self.cbam_module(`` -> ``self.seblock(``, with ``SEBlock`` the standard
  squeeze-and-excitation block (Hu et al. 2018: ``x * sigmoid(fc.2(relu(fc.0(mean_HW
  x))))``) written below on the file's key layout. That block is not release code, so this
  variant checks the release's BRN with attention at blocks 1/3/5, not the SE maths.

The release's zero LSTM states are float32 whatever the input; ``torch.cat`` promotes them
(exact zeros) in the float64 run."""
import sys
import types
from pathlib import Path

import torch.nn as nn

from ._release import stub_modules

RELEASE = ('cuiyixin555/AIDNet', 'de1a7f0877310e6fcb4a6aa6481926cdc99adf3f')
CONVERTER = 'aidnet'
SIZES = [(48, 48), (40, 56)]
VARIANTS = {
    'AIDNet-CBAM (Rain100H)': dict(arch=dict(type='AIDNet', attention='cbam', reduction=16),
                                   official='cbam'),
    'AIDNet-SE (Rain100L)': dict(arch=dict(type='AIDNet', attention='se', reduction=2),
                                 official='se'),
}

_BUILD = 'self.aid_module = AID(32)'
_CHANGES = {
    'cbam': [(_BUILD, 'self.cbam_module = AID(32, reduction_ratio=16)')],
    'se': [(_BUILD, 'self.seblock = SEBlock(32, 2)'), ('self.cbam_module(', 'self.seblock(')],
}


class SEBlock(nn.Module):
    """Standard squeeze-and-excitation on the Rain100L file's layout (``fc.0``, ``fc.2``)."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x.mean((2, 3)))[:, :, None, None]


def build_official(release_dir, official):
    stub_modules('torchvision', 'cv2')
    release_dir = Path(release_dir)
    path = release_dir / 'networks' / 'generator_aid135.py'
    if not path.is_file():
        raise SystemExit(f'{path} not found: is --release the official checkout?')
    sys.path.insert(0, str(release_dir))  # its `from common import *`, `from networks.aid import *`
    source = path.read_text()
    for old, new in _CHANGES[official]:
        if old not in source:
            raise SystemExit(f'{path}: {old!r} not found; is this the release at {RELEASE[1]}?')
        source = source.replace(old, new)
    module = types.ModuleType(f'_official_aidnet_{official}')
    module.__file__ = str(path)
    module.SEBlock = SEBlock
    sys.modules[module.__name__] = module
    exec(compile(source, str(path), 'exec'), module.__dict__)
    return module.BRN(8, use_GPU=False)
