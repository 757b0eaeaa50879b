"""RESCAN against XiaLiPKU/RESCAN ``config/model.py``: every recurrent unit in both prediction
frameworks at the release's default size (4 stages, depth 7, 24 channels, SE), and one other
geometry without SE.

The release reads its hyperparameters from a ``settings`` module at import (``config/
settings.py``); each variant gets its own ``settings`` stand-in and a fresh import of
``model.py``. Checkpoints are saved as its ``train.py`` saves them (``{'net', 'clock',
'opt'}``). The release works on images as OpenCV reads them (BGR) and returns the rain
estimates of every stage; its scripts derain with ``O - R_S``. ``official_forward`` is that
pipeline on an RGB tensor: channels reversed in, ``O - R_S``, reversed out; restorelab's arch
takes RGB with the converter's reversed first and last layers.

csdwren/RecDerain ships no RESCAN code: its ``logs/Rain{Heavy,Light}/RESCAN/latest`` are this
release's checkpoints (same layout, ``clock`` 19975 of its 20,000-step loop), so this adapter
covers them too.
"""
import sys
import types

import torch

from ._release import import_file

RELEASE = ('XiaLiPKU/RESCAN', 'e28d1d7cd3d8b276ce88de730de1603bafa30e23')
CONVERTER = 'rescan'
SIZES = [(64, 64), (48, 80)]

_RELEASE_UNITS = {'Conv': 'Conv', 'ConvRNN': 'RNN', 'ConvGRU': 'GRU', 'ConvLSTM': 'LSTM'}
_RELEASE_FRAMES = {'full': 'Full', 'additive': 'Add'}


def _variant(unit, prediction, num_stages=4, depth=7, channels=24, use_se=True):
    arch = dict(type='RESCAN', unit=unit, prediction=prediction, num_stages=num_stages,
                depth=depth, channels=channels, use_se=use_se)
    official = dict(uint=_RELEASE_UNITS[unit], frame=_RELEASE_FRAMES[prediction],
                    stage_num=num_stages, depth=depth, channel=channels, use_se=use_se)
    return dict(arch=arch, official=official)


VARIANTS = {
    f'{unit}-{prediction}': _variant(unit, prediction)
    for unit in _RELEASE_UNITS for prediction in _RELEASE_FRAMES
}
VARIANTS['ConvLSTM-additive-d5-c16-s3-noSE'] = _variant(
    'ConvLSTM', 'additive', num_stages=3, depth=5, channels=16, use_se=False)


def build_official(release_dir, official):
    settings = types.ModuleType('settings')
    for key, value in official.items():
        setattr(settings, key, value)
    sys.modules['settings'] = settings  # model.py's `import settings` takes this one
    name = '_official_rescan_' + '_'.join(str(v) for v in official.values())
    model = import_file(release_dir, 'config/model.py', module_name=name)
    return model.RESCAN()


def save_release_checkpoint(module, path):
    optimizer = torch.optim.Adam(module.parameters(), lr=5e-3)
    torch.save({'net': module.state_dict(), 'clock': 0, 'opt': optimizer.state_dict()}, path)


def official_forward(module, x):
    bgr = x.flip(1)
    return (bgr - module(bgr)[-1]).flip(1)
