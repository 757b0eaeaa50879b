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

from restorelab.models.converters.official import register_converter
from restorelab.models.converters.renaming import apply_rules, rename_checked, require_tensor_dict, required_tensors
from restorelab.models.converters.restormer import restormer_body_config

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
    return apply_rules(key, _RULES)


def _unet_key(g):
    """``latent_mid2.0.ffn.dwconv.main.0.weight`` -> ``scale2.unets.1.latent.0.ffn.dwconv.weight``."""
    return f"{SCALES[g['scale']]}.unets.{int(g['k'] or 1) - 1}.{g['part']}{_dwconv('.' + g['rest'])}"


def _dwconv(rest):
    """``.0.attn.qkv_dwconv.main.0.weight`` -> ``.0.attn.qkv_dwconv.weight`` (and the FFN's)."""
    for old, new in _BASIC_CONV:
        rest = rest.replace(old, new)
    return rest


_RULES = [(_UNET, _unet_key)] + _FIXED


def infer_config(state_dict):
    """NeRDRain constructor arguments read off a state_dict in this plugin's names."""
    embed, first_mlp = required_tensors(
        state_dict, ('scale1.patch_embed.proj.weight', 'scale1.inr.imnet.layers.0.weight'), 'NeRD-Rain',
        'a NeRD-Rain state_dict', 'the "state_dict" of a cschenxiang/NeRD-Rain checkpoint (keys like '
        'patch_embed_small.proj.weight, encoder_level1_small.0.attn.qkv.weight)')
    dim = embed.shape[0]
    body = restormer_body_config(state_dict, dim, ('encoder_level1', 'encoder_level2', 'latent'),
                                 prefix='scale1.unets.0.')
    body['LayerNorm_type'] = body.pop('layer_norm_type')  # the release's argument name
    linear = sorted(int(k.split('.')[-2]) for k in state_dict
                    if k.startswith('scale1.inr.imnet.layers.') and k.endswith('.weight'))
    hidden = tuple(state_dict[f'scale1.inr.imnet.layers.{i}.weight'].shape[0] for i in linear[:-1])
    frequencies = (first_mlp.shape[1] - 9 * dim - 4) // 4
    return dict(
        inp_channels=embed.shape[1], out_channels=state_dict['scale3.output.weight'].shape[0], dim=dim,
        **body, inr_hidden=hidden, inr_frequencies=frequencies)


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
    require_tensor_dict(state_dict, 'NeRD-Rain', 'the "state_dict"')
    # The configuration is read in our names: rename first (keys without a counterpart dropped).
    renamed = {new: v for new, v in ((map_official_key(k), v) for k, v in state_dict.items()) if new is not None}
    return rename_checked(
        state_dict, map_official_key, NeRDRain, infer_config(renamed), 'NeRD-Rain',
        'Pass the "state_dict" of a cschenxiang/NeRD-Rain checkpoint (model.py or model_S.py), unmodified.')
