"""DRSformer backbone (Chen et al., CVPR 2023) as released in cschenxiang/DRSformer, with the variants of
the paper's ablations (Sec. 4.3) as constructor options."""
import torch
import torch.nn as nn

from restorelab.models.archs.common import ChannelLayerNorm, PixelShuffleUpsample, PixelUnshuffleDownsample
from restorelab.models.archs.restormer import OverlapPatchEmbed
from restorelab.registry import MODELS

from .fast_kernels import pointwise_conv2d
from .feedforward import build_ffn
from .mefc import MEFC
from .msfn import MSFN
from .tksa import RELEASE_TOPK_FRACTIONS, TKSA

MEFC_POSITIONS = ('early', 'final')


class LayerNorm(ChannelLayerNorm):
    """Layer norm over the channels of each pixel: (N, C, H, W) -> (N, C, H, W), eps 1e-5.

    restorelab's Restormer layer norm (parameters under ``body``, as released); 'BiasFree' also skips
    the mean subtraction. ``fast=True`` normalises the (N, H, W, C) permutation of a channels-last
    tensor (a free view) in one pass instead (the same numbers).
    """

    def __init__(self, channels, layer_norm_type='WithBias', fast=True):
        super().__init__(channels, layer_norm_type, fast=fast)


class SparseTransformerBlock(nn.Module):
    """STB (Eqs. 2-3): x + TKSA(LN(x)), then x + FFN(LN(x)); (N, dim, H, W) -> same shape."""

    def __init__(self, dim, num_heads, ffn_expansion_factor=2.66, bias=False, layer_norm_type='WithBias',
                 topk_fractions=RELEASE_TOPK_FRACTIONS, ffn_type='msfn', fast=True, device_kernels='auto'):
        super().__init__()
        self.fast = fast
        self.norm1 = LayerNorm(dim, layer_norm_type, fast=fast)
        self.attn = TKSA(dim, num_heads, bias, topk_fractions, fast=fast)
        self.norm2 = LayerNorm(dim, layer_norm_type, fast=fast)
        self.ffn = build_ffn(ffn_type, dim, ffn_expansion_factor, bias, fast=fast, device_kernels=device_kernels)

    def forward(self, x):
        if not self.fast:
            x = x + self.attn(self.norm1(x))
            return x + self.ffn(self.norm2(x))
        # The same, with the residual additions inside TKSA's and MSFN's last matrix products.
        x = self.attn.forward_fast(self.norm1(x), residual=x)
        if isinstance(self.ffn, MSFN):
            return self.ffn.forward_fast(self.norm2(x), residual=x)
        return x + self.ffn(self.norm2(x))


@MODELS.register_module()
class DRSformer(nn.Module):
    """DRSformer deraining network: (N, 3, H, W) rainy image in [0, 1] -> (N, 3, H, W) derained image.

    A 4-level encoder-decoder of sparse Transformer blocks (TKSA + MSFN) with pixel-(un)shuffle
    resampling, optionally with two MEFCs (after the patch embedding at dim channels, and before the
    output conv at 2*dim). H and W must be multiples of 8 (``size_multiple``; the restorer pads). The
    defaults build the released full-size model (33,655,424 parameters with MEFC, 32,610,304 without).
    Module names follow the release except inside the MEFCs; ``converter.py`` maps those keys.

    Args:
        in_channels / out_channels: image channels.
        dim: channels at level 1 (levels 2-4 use 2, 4, 8 times as many).
        num_blocks: STBs per level (levels 1-3 repeated in the decoder).
        heads: attention heads per level.
        ffn_expansion_factor: hidden width per channel of the feed-forward networks.
        bias: biases in the TKSA/FFN convs and the skip reductions.
        layer_norm_type: 'WithBias' or 'BiasFree', as in the release.
        topk_fractions: TKSA's top-k fractions, pairs (a, b) for k = int(C * a / b) (Fig. 7): the
            release's [[1, 2], [2, 3], [3, 4], [4, 5]] mixed by learnable weights; one pair for a
            single fixed k; None for dense attention (w/o top-k, Fig. 6).
        ffn_type: 'msfn' (the release), 'gdfn', 'dfn' or 'fn' (Table 3; see ``feedforward.py``).
        use_mefc: build the MEFCs (the release drops them for Rain200L and SPA-Data).
        mefc_positions: where the MEFCs go when ``use_mefc``: 'early' (MEFC-1, after the patch
            embedding) and/or 'final' (MEFC-2, before the output conv) (Table 4).
        mefc_experts: experts per MEFC: 8 (the release), 4 or 1 (Table 4; subsets in ``mefc.py``), or a
            list of expert names.
        mefc_steps: expert steps per MEFC.
        fast: the fast formulation of every module (channels-last, fused products; the same function).
            ``fast=False`` runs the release's formulation, module by module, in NCHW.
        device_kernels: which device's formulations the fast path uses, decided per forward:
            'auto' (default) the CPU ones (MSFN pair sums in allocator-sized chunks, the depth-wise
            weight gradient) on CPU tensors and the plain operations for those parts on any other
            device; 'cpu' or 'cuda' forces one choice (the tests run the 'cuda' choice on CPU).
            TKSA's one sort, the mixed maps, the MEFC fold and channels-last apply on every device.
    """

    size_multiple = 8

    def __init__(self, in_channels=3, out_channels=3, dim=48, num_blocks=(4, 6, 6, 8), heads=(1, 2, 4, 8),
                 ffn_expansion_factor=2.66, bias=False, layer_norm_type='WithBias',
                 topk_fractions=RELEASE_TOPK_FRACTIONS, ffn_type='msfn', use_mefc=True,
                 mefc_positions=MEFC_POSITIONS, mefc_experts=8, mefc_steps=4, fast=True, device_kernels='auto'):
        super().__init__()
        if layer_norm_type not in ('WithBias', 'BiasFree'):
            raise ValueError(f"DRSformer: layer_norm_type={layer_norm_type!r}; expected 'WithBias' or 'BiasFree'")
        if len(num_blocks) != 4 or len(heads) != 4:
            raise ValueError(f'DRSformer: num_blocks={num_blocks} and heads={heads} need 4 entries each '
                             '(one per level)')
        if isinstance(mefc_positions, str) or not mefc_positions or len(set(mefc_positions)) != len(mefc_positions) \
                or not set(mefc_positions) <= set(MEFC_POSITIONS):
            raise ValueError(f'DRSformer: mefc_positions={mefc_positions!r}; expected a non-empty list of distinct '
                             f"entries of {MEFC_POSITIONS}, e.g. ['early'] (MEFC-1 only); use_mefc=False removes "
                             'both')
        self.use_mefc = use_mefc
        self.fast = fast
        block_args = dict(ffn_expansion_factor=ffn_expansion_factor, bias=bias, layer_norm_type=layer_norm_type,
                          topk_fractions=topk_fractions, ffn_type=ffn_type, fast=fast,
                          device_kernels=device_kernels)

        def stage(channels, num_heads, count):
            return nn.Sequential(*[SparseTransformerBlock(channels, num_heads, **block_args) for _ in range(count)])

        def mefc(position, channels):
            if not use_mefc or position not in mefc_positions:
                return None
            return MEFC(channels, mefc_steps, mefc_experts, fast=fast, device_kernels=device_kernels)

        self.patch_embed = OverlapPatchEmbed(in_channels, dim)
        self.encoder_level0 = mefc('early', dim)
        self.encoder_level1 = stage(dim, heads[0], num_blocks[0])
        self.down1_2 = PixelUnshuffleDownsample(dim)
        self.encoder_level2 = stage(dim * 2, heads[1], num_blocks[1])
        self.down2_3 = PixelUnshuffleDownsample(dim * 2)
        self.encoder_level3 = stage(dim * 4, heads[2], num_blocks[2])
        self.down3_4 = PixelUnshuffleDownsample(dim * 4)
        self.latent = stage(dim * 8, heads[3], num_blocks[3])

        self.up4_3 = PixelShuffleUpsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, 1, bias=bias)
        self.decoder_level3 = stage(dim * 4, heads[2], num_blocks[2])
        self.up3_2 = PixelShuffleUpsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, 1, bias=bias)
        self.decoder_level2 = stage(dim * 2, heads[1], num_blocks[1])
        # Level 1 of the decoder keeps the 2*dim channels of the concatenation (no reduction)
        # but uses level 1's head count.
        self.up2_1 = PixelShuffleUpsample(dim * 2)
        self.decoder_level1 = stage(dim * 2, heads[0], num_blocks[0])
        self.refinement = mefc('final', dim * 2)
        self.output = nn.Conv2d(dim * 2, out_channels, 3, padding=1, bias=bias)

    def _reduce(self, conv, x):
        """A decoder level's 1x1 channel reduction (``fast``: oneDNN's kernel on CPU, same numbers)."""
        return pointwise_conv2d(x, conv.weight, conv.bias) if self.fast else conv(x)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f'DRSformer: input size {h}x{w} must be a multiple of {self.size_multiple}; '
                             'pad it (ImageRestorer does this) or crop it')
        if self.fast:
            # Channels-last end to end: the depth-wise and 1x1 convs take their fast paths, and the
            # per-pixel channel vectors (layer norms, products over channels) are contiguous rows.
            x = x.contiguous(memory_format=torch.channels_last)
        feat = self.patch_embed(x)
        if self.encoder_level0 is not None:
            feat = self.encoder_level0(feat)
        enc1 = self.encoder_level1(feat)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        latent = self.latent(self.down3_4(enc3))

        dec3 = self.decoder_level3(self._reduce(self.reduce_chan_level3, torch.cat([self.up4_3(latent), enc3], dim=1)))
        dec2 = self.decoder_level2(self._reduce(self.reduce_chan_level2, torch.cat([self.up3_2(dec3), enc2], dim=1)))
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], dim=1))
        if self.refinement is not None:
            dec1 = self.refinement(dec1)
        return (self.output(dec1) + x).contiguous()
