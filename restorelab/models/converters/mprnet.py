"""Converter for swz30/MPRNet checkpoints: ``{'epoch', 'state_dict', 'optimizer'}`` as its
train.py saves them (the released ``model_deraining.pth`` among them), the ``state_dict`` saved
from DataParallel (``module.`` prefixes, removed by the loader)."""
import re
from collections import OrderedDict

import torch

from restorelab.utils.errors import CheckpointConversionError
from .official import register_converter

# Every CAB's activation, ``<...>.body.1.weight``: the one PReLU the release shares (one value).
_PRELU_KEY = re.compile(r'(^|\.)body\.1\.weight$')


def _shared_slopes(state_dict):
    return {k: v for k, v in state_dict.items() if _PRELU_KEY.search(k) and v.numel() == 1}


def infer_mprnet_arch(state_dict):
    """The ``MPRNet`` config an MPRNet state_dict was saved from, read off its shapes
    (None when it is not an MPRNet state_dict)."""
    try:
        n_feat, _, kernel_size, _ = state_dict['shallow_feat1.0.weight'].shape
        unet_level2 = state_dict['stage1_encoder.encoder_level2.0.body.0.weight'].shape[0]
        orsnet = state_dict['stage3_orsnet.orb1.body.0.body.0.weight'].shape[0]
        squeezed = state_dict['shallow_feat1.1.CA.conv_du.0.weight'].shape[0]
    except (KeyError, ValueError):
        return None
    cabs = {m.group(1) for k in state_dict
            for m in [re.match(r'stage3_orsnet\.orb1\.body\.(\d+)\.body\.0\.weight$', k)] if m}
    return dict(type='MPRNet', n_feat=n_feat, scale_unetfeats=unet_level2 - n_feat,
                scale_orsnetfeats=orsnet - n_feat, num_cab=len(cabs), kernel_size=kernel_size,
                reduction=n_feat // max(squeezed, 1), bias='shallow_feat1.0.bias' in state_dict)


@register_converter('mprnet', arch_type='MPRNet', infer_arch=infer_mprnet_arch)
def convert_mprnet(state_dict):
    """Official MPRNet keys -> restorelab ``MPRNet`` keys: the identity (the same module names).

    The release shares one PReLU among all its CABs, so its slope is stored under every CAB's
    ``body.1.weight`` (55 keys, one value): a file whose copies differ was not saved from the
    release's network, and loading it would keep only the last copy; it is refused.
    """
    slopes = _shared_slopes(state_dict)
    if slopes:
        first_key, first = next(iter(slopes.items()))
        differ = [k for k, v in slopes.items() if not torch.equal(v, first)]
        if differ:
            raise CheckpointConversionError(
                f'MPRNet converter: the shared PReLU slope differs between {first_key} '
                f'({first.flatten().tolist()}) and {len(differ)} other keys (first: {differ[0]}: '
                f'{slopes[differ[0]].flatten().tolist()}); the release stores one slope under every '
                "CAB's body.1.weight. This is not a checkpoint of the release's MPRNet.")
    return OrderedDict(state_dict)
