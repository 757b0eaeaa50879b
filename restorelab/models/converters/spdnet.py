"""Converter for Joyies/SPDNet checkpoints (``model_best.pt`` / ``model_latest.pt``: the
plain state_dict of its ``Rainnet``, saved by ``src/model/__init__.py``)."""
import math
import re
from collections import OrderedDict

import torch

from restorelab.utils.errors import CheckpointConversionError
from .official import register_converter

# Built by the release but never called by its forward: the affine InstanceNorm2d of every
# ``convd`` (``<name>.ins.weight/bias``), the ``conv`` of each ``Fuse`` and ten resampling
# layers of every ``subnet``.
_UNUSED = re.compile(
    r'(^|\.)ins\.'
    r'|^sub\d+\.(down2|down3|branch\d_\d_[du]|fuse12\.conv|fuse23\.conv)\.')
# pytorch_wavelets' Haar filters, buffers of the release's DWT/IDWT (``sub<t>.DWT.h0_col``,
# ``sub<t>.IDWT.g1_row``...): low pass [1, 1] / sqrt 2, high pass [1, -1] / sqrt 2 (the
# analysis filters are stored reversed, which leaves these two unchanged).
_WAVELET = re.compile(r'^sub\d+\.(DWT\.h|IDWT\.g)([01])_(col|row)$')
_HAAR = {'0': (1.0, 1.0), '1': (1.0, -1.0)}


def _check_haar(key, tensor, band):
    expected = torch.tensor(_HAAR[band], dtype=torch.float64) / math.sqrt(2.0)
    values = tensor.detach().double().flatten()
    if values.shape != expected.shape or not torch.allclose(values, expected, rtol=0, atol=1e-6):
        raise CheckpointConversionError(
            f'{key} is {[round(v, 6) for v in values.tolist()]}, not the Haar filter '
            f'{[round(v, 6) for v in expected.tolist()]}: SPDNet '
            "uses pytorch_wavelets' DWTForward/DWTInverse with wave='haar', and restorelab's "
            'SPDNet implements only that wavelet')


def infer_spdnet_arch(state_dict):
    """``dict(type='SPDNet', n_feats=..., n_resblocks=...)`` read from an SPDNet state_dict
    (release or restorelab keys), or None when its layout is not SPDNet's."""
    weight = state_dict.get('conv_init2.conv.weight')
    if weight is None or weight.dim() != 4:
        return None
    blocks = {int(m.group(1)) for k in state_dict
              for m in [re.match(r'res_extra1\.extra\.module_body\.(\d+)\.module_body\.', k)] if m}
    return dict(type='SPDNet', n_feats=int(weight.shape[0]), n_resblocks=len(blocks))


@register_converter('spdnet', arch_type='SPDNet', infer_arch=infer_spdnet_arch)
def convert_spdnet(state_dict):
    """Official SPDNet (``Rainnet``) keys -> restorelab ``SPDNet`` keys: the same names
    (``conv_init1/2``, ``res_extra1..3``, ``sub1..3`` with ``prior``, ``fuse_res``,
    ``DWT_2/3``, ``IDWT_2/3``, ``branch<l>_<k>``, ``fuse12/23``; ``ag1``, ``ag2``,
    ``ag2_en``, ``ag_en``, ``output1..3``) without what the release builds and its forward
    never uses, and without the DWT/IDWT filter tensors, which must hold the Haar filters
    (restorelab computes the Haar transforms without them). A file of another width or depth
    is refused naming the ``n_feats``/``n_resblocks`` it holds (``infer_spdnet_arch``)."""
    converted = OrderedDict()
    for key, tensor in state_dict.items():
        wavelet = _WAVELET.match(key)
        if wavelet:
            _check_haar(key, tensor, wavelet.group(2))
        elif not _UNUSED.search(key):
            converted[key] = tensor
    return converted
