"""Official NeRD-Rain checkpoints (cschenxiang/NeRD-Rain) to this plugin's NeRDRain.

Registered as 'nerd_rain' in ``restorelab.registry.CHECKPOINT_CONVERTERS``. The release's
``train.py`` saves ``{'epoch', 'state_dict', 'optimizer'}`` (``module.``-prefixed keys when trained
on several GPUs); restorelab's loader unwraps ``state_dict`` and the prefix, then calls the
converter. Values pass unchanged; keys are renamed (official -> ours), with S = small/mid/max ->
scale1/scale2/scale3 and k the encoder-decoder's number in its scale (none = 1):

    patch_embed_S.*                          -> scaleN.patch_embed.*
    P_Sk.*  (P: encoder_level1, down1_2, encoder_level2, down2_3, latent, up3_2,
             reduce_chan_level2, decoder_level2, up2_1, reduce_chan_level1, decoder_level1)
                                             -> scaleN.unets.<k-1>.P.*
    output_S.*                               -> scaleN.output.*
    output_mid_context.*                     -> scale2.contexts.0.*
    output_max_context{1,2}.*                -> scale3.contexts.{0,1}.*
    INR.imnet.*, INR2.imnet.*                -> scale1.inr.imnet.*, scale2.inr.imnet.*
    upsmall2mid{1,2}.*, upmid2max{1,2}.*     -> scale1/scale2.inr.feature_upsample.{0,1}.*
    BF1.*, BF2.*, BF3.*                      -> scale3.bfpus.0.*, scale3.bfpus.1.*, scale2.bfpus.0.*

and inside every Transformer block ``attn.qkv_dwconv.main.0.`` -> ``attn.qkv_dwconv.``,
``ffn.dwconv.main.0.`` -> ``ffn.dwconv.`` (the release's ``BasicConv`` wrapper).
"""
import re

import torch

from restorelab.models.converters.official import register_converter

from .network import NeRDRain

SCALES = {'small': 'scale1', 'mid': 'scale2', 'max': 'scale3'}
UNET_PARTS = ('encoder_level1', 'down1_2', 'encoder_level2', 'down2_3', 'latent', 'up3_2',
              'reduce_chan_level2', 'decoder_level2', 'up2_1', 'reduce_chan_level1', 'decoder_level1')
_UNET = re.compile(rf'^(?P<part>{"|".join(UNET_PARTS)})_(?P<scale>small|mid|max)(?P<k>[1-3]?)\.(?P<rest>.+)$')
_FIXED = [
    (re.compile(r'^patch_embed_(?P<s>small|mid|max)\.(?P<rest>.+)$'),
     lambda g: f"{SCALES[g['s']]}.patch_embed.{g['rest']}"),
    (re.compile(r'^output_(?P<s>small|mid|max)\.(?P<rest>.+)$'), lambda g: f"{SCALES[g['s']]}.output.{g['rest']}"),
    (re.compile(r'^output_mid_context\.(?P<rest>.+)$'), lambda g: f"scale2.contexts.0.{g['rest']}"),
    (re.compile(r'^output_max_context(?P<k>[12])\.(?P<rest>.+)$'),
     lambda g: f"scale3.contexts.{int(g['k']) - 1}.{g['rest']}"),
    (re.compile(r'^INR\.(?P<rest>.+)$'), lambda g: f"scale1.inr.{g['rest']}"),
    (re.compile(r'^INR2\.(?P<rest>.+)$'), lambda g: f"scale2.inr.{g['rest']}"),
    (re.compile(r'^upsmall2mid(?P<k>[12])\.(?P<rest>.+)$'),
     lambda g: f"scale1.inr.feature_upsample.{int(g['k']) - 1}.{g['rest']}"),
    (re.compile(r'^upmid2max(?P<k>[12])\.(?P<rest>.+)$'),
     lambda g: f"scale2.inr.feature_upsample.{int(g['k']) - 1}.{g['rest']}"),
    (re.compile(r'^BF(?P<k>[12])\.(?P<rest>.+)$'), lambda g: f"scale3.bfpus.{int(g['k']) - 1}.{g['rest']}"),
    (re.compile(r'^BF3\.(?P<rest>.+)$'), lambda g: f"scale2.bfpus.0.{g['rest']}"),
]
_BASIC_CONV = [('.attn.qkv_dwconv.main.0.', '.attn.qkv_dwconv.'), ('.ffn.dwconv.main.0.', '.ffn.dwconv.')]


def map_official_key(key):
    """Our name for one official key, or None when it matches no rule."""
    match = _UNET.match(key)
    if match:
        g = match.groupdict()
        k = int(g['k'] or 1)
        return f"{SCALES[g['scale']]}.unets.{k - 1}.{g['part']}{_dwconv('.' + g['rest'])}"
    for pattern, rename in _FIXED:
        match = pattern.match(key)
        if match:
            return rename(match.groupdict())
    return None


def _dwconv(rest):
    """``.0.attn.qkv_dwconv.main.0.weight`` -> ``.0.attn.qkv_dwconv.weight`` (and the FFN's)."""
    for old, new in _BASIC_CONV:
        rest = rest.replace(old, new)
    return rest


def infer_config(state_dict):
    """NeRDRain constructor arguments read off a state_dict in this plugin's names."""
    try:
        embed = state_dict['scale1.patch_embed.proj.weight']
        first_mlp = state_dict['scale1.inr.imnet.layers.0.weight']
    except KeyError as err:
        raise ValueError(
            f'NeRD-Rain converter: key {err} not found; this is not a NeRD-Rain state_dict. First keys '
            f'seen: {sorted(state_dict)[:5]}. Expected the "state_dict" of a cschenxiang/NeRD-Rain '
            'checkpoint (keys like patch_embed_small.proj.weight, encoder_level1_small.0.attn.qkv.weight).'
        ) from None
    dim = embed.shape[0]
    unet = 'scale1.unets.0.'
    num_blocks, heads = [], []
    for level in ('encoder_level1', 'encoder_level2', 'latent'):
        blocks = {int(k[len(unet + level) + 1:].split('.')[0]) for k in state_dict
                  if k.startswith(f'{unet}{level}.')}
        num_blocks.append(max(blocks) + 1 if blocks else 0)
        temperature = state_dict.get(f'{unet}{level}.0.attn.temperature')
        heads.append(temperature.shape[0] if temperature is not None else 1)
    project_in = state_dict.get(f'{unet}encoder_level1.0.ffn.project_in.weight')
    expansion = 2.66
    if project_in is not None and int(dim * expansion) != project_in.shape[0] // 2:
        expansion = (project_in.shape[0] // 2 + 0.5) / dim
    linear = sorted(int(k.split('.')[-2]) for k in state_dict
                    if k.startswith('scale1.inr.imnet.layers.') and k.endswith('.weight'))
    hidden = tuple(state_dict[f'scale1.inr.imnet.layers.{i}.weight'].shape[0] for i in linear[:-1])
    frequencies = (first_mlp.shape[1] - 9 * dim - 4) // 4
    return dict(
        inp_channels=embed.shape[1], out_channels=state_dict['scale3.output.weight'].shape[0], dim=dim,
        num_blocks=tuple(num_blocks), heads=tuple(heads), ffn_expansion_factor=expansion,
        bias=f'{unet}encoder_level1.0.attn.qkv.bias' in state_dict,
        LayerNorm_type='WithBias' if f'{unet}encoder_level1.0.norm1.body.bias' in state_dict else 'BiasFree',
        inr_hidden=hidden, inr_frequencies=frequencies)


def infer_nerd_rain_arch(state_dict):
    """The ``NeRDRain`` config a converted state_dict was saved from, read off its shapes (the options
    that differ from the defaults, e.g. ``dict(type='NeRDRain', dim=32)`` for NeRD-Rain-S); None when
    it is not a NeRD-Rain state_dict."""
    try:
        config = infer_config(state_dict)
    except (ValueError, KeyError, IndexError):
        return None
    defaults = dict(inp_channels=3, out_channels=3, dim=48, num_blocks=(2, 3, 3), heads=(1, 2, 4),
                    ffn_expansion_factor=2.66, bias=False, LayerNorm_type='WithBias',
                    inr_hidden=(256, 256, 256), inr_frequencies=4)
    return dict(type='NeRDRain', **{k: v for k, v in config.items() if v != defaults[k]})


@register_converter('nerd_rain', arch_type='NeRDRain', infer_arch=infer_nerd_rain_arch)
def convert_nerd_rain(state_dict):
    """Rename an official NeRD-Rain state_dict (NeRD-Rain or NeRD-Rain-S; the unwrapped
    ``state_dict``) to this plugin's keys, checked against a NeRDRain built with the configuration
    read off its shapes: a ValueError lists the missing, unexpected and mis-shaped keys."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError('NeRD-Rain converter: expected a dict of tensors (the "state_dict" of an official '
                         f'checkpoint), got {type(state_dict).__name__}')
    converted, unexpected = {}, []
    for key, value in state_dict.items():
        new_key = map_official_key(key)
        if new_key is None:
            unexpected.append(key)
        else:
            converted[new_key] = value
    config = infer_config(converted)
    with torch.device('meta'):  # shapes only
        expected = {k: v.shape for k, v in NeRDRain(**config).state_dict().items()}
    unexpected += [k for k in state_dict if map_official_key(k) is not None and map_official_key(k) not in expected]
    missing = sorted(set(expected) - set(converted))
    mismatched = [f'{k}: {tuple(v.shape)} vs expected {tuple(expected[k])}'
                  for k, v in converted.items() if k in expected and v.shape != expected[k]]
    if missing or unexpected or mismatched:
        raise ValueError(
            f'NeRD-Rain converter: the state_dict does not match a NeRDRain with the configuration read '
            f'from its shapes ({config}).\n'
            f'  missing ({len(missing)}, our names): {_short(missing)}\n'
            f'  unexpected ({len(unexpected)}, official names): {_short(unexpected)}\n'
            f'  shape mismatches ({len(mismatched)}): {_short(mismatched)}\n'
            'Pass the "state_dict" of a cschenxiang/NeRD-Rain checkpoint (model.py or model_S.py), unmodified.')
    return {k: v for k, v in converted.items() if k in expected}


def _short(items, limit=20):
    items = list(items)
    return ', '.join(items[:limit]) + (f', ... ({len(items) - limit} more)' if len(items) > limit else '') or '-'
