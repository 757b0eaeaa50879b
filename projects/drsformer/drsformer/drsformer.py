"""DRSformer backbone (Chen et al., CVPR 2023) as released in cschenxiang/DRSformer."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

from .mefc import MEFC
from .msfn import MSFN
from .tksa import TKSA


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel: (N, C, H, W) -> (N, C, H, W), eps 1e-5.

    ``with_bias=False`` is the release's 'BiasFree' variant, which also skips the mean
    subtraction: x / sqrt(var + eps) * weight. The release rearranges to (N, H*W, C) and back;
    on a channels-last tensor the (N, H, W, C) permutation is a free view, normalised in one pass.
    """

    def __init__(self, channels, with_bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels)) if with_bias else None

    def forward(self, x):
        pixels = x.permute(0, 2, 3, 1)
        if self.bias is not None:
            out = F.layer_norm(pixels, pixels.shape[-1:], self.weight, self.bias, eps=1e-5)
        else:
            var = pixels.var(dim=-1, keepdim=True, unbiased=False)
            out = pixels * torch.rsqrt(var + 1e-5) * self.weight
        return out.permute(0, 3, 1, 2)


class SparseTransformerBlock(nn.Module):
    """STB: x + TKSA(LN(x)), then x + MSFN(LN(x)); (N, dim, H, W) -> same shape.

    The residual additions happen inside the last matrix product of TKSA and MSFN.
    """

    def __init__(self, dim, num_heads, ffn_expansion_factor, bias, norm_with_bias):
        super().__init__()
        self.norm1 = ChannelLayerNorm(dim, norm_with_bias)
        self.attn = TKSA(dim, num_heads, bias)
        self.norm2 = ChannelLayerNorm(dim, norm_with_bias)
        self.ffn = MSFN(dim, ffn_expansion_factor, bias)

    def forward(self, x):
        x = self.attn(self.norm1(x), residual=x)
        return self.ffn(self.norm2(x), residual=x)


class Downsample(nn.Sequential):
    """3x3 conv to C/2 channels then pixel-unshuffle: (N, C, H, W) -> (N, 2C, H/2, W/2)."""

    def __init__(self, channels):
        super().__init__(nn.Conv2d(channels, channels // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))


class Upsample(nn.Sequential):
    """3x3 conv to 2C channels then pixel-shuffle: (N, C, H, W) -> (N, C/2, 2H, 2W)."""

    def __init__(self, channels):
        super().__init__(nn.Conv2d(channels, channels * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))


@MODELS.register_module()
class DRSformer(nn.Module):
    """DRSformer deraining network: (N, 3, H, W) rainy image in [0, 1] -> (N, 3, H, W) derained image.

    A 4-level encoder-decoder of sparse Transformer blocks (TKSA + MSFN) with
    pixel-(un)shuffle resampling, optionally wrapped by two MEFCs (after the
    patch embedding at dim channels, and before the output conv at 2*dim). H and
    W must be multiples of 8 (``size_multiple``; the restorer pads). The defaults
    build the released full-size model (33,655,424 parameters with MEFC,
    32,610,304 without). Module names follow the release except for the patch
    embedding, resampling convs, layer norms and MEFC internals;
    ``projects.drsformer.drsformer.converter`` maps the keys.

    Args:
        in_channels / out_channels: image channels.
        dim: channels at level 1 (levels 2-4 use 2, 4, 8 times as many).
        num_blocks: STBs per level (levels 1-3 repeated in the decoder).
        heads: attention heads per level.
        ffn_expansion_factor: MSFN hidden width per channel.
        bias: biases in the TKSA/MSFN convs and the skip reductions.
        layer_norm_type: 'WithBias' or 'BiasFree', as in the release.
        use_mefc: build the two MEFCs (the release drops them for Rain200L and SPA-Data).
        mefc_steps: expert steps per MEFC.
    """

    size_multiple = 8

    def __init__(self, in_channels=3, out_channels=3, dim=48, num_blocks=(4, 6, 6, 8), heads=(1, 2, 4, 8),
                 ffn_expansion_factor=2.66, bias=False, layer_norm_type='WithBias', use_mefc=True, mefc_steps=4):
        super().__init__()
        if layer_norm_type not in ('WithBias', 'BiasFree'):
            raise ValueError(f"DRSformer: layer_norm_type={layer_norm_type!r}; expected 'WithBias' or 'BiasFree'")
        if len(num_blocks) != 4 or len(heads) != 4:
            raise ValueError(f'DRSformer: num_blocks={num_blocks} and heads={heads} need 4 entries each '
                             '(one per level)')
        self.use_mefc = use_mefc

        def stage(level, count):
            channels = dim * 2 ** level
            return nn.Sequential(*[
                SparseTransformerBlock(channels, heads[min(level, 3)], ffn_expansion_factor, bias,
                                       layer_norm_type == 'WithBias') for _ in range(count)])

        self.patch_embed = nn.Conv2d(in_channels, dim, 3, padding=1, bias=False)
        self.encoder_level0 = MEFC(dim, mefc_steps) if use_mefc else None
        self.encoder_level1 = stage(0, num_blocks[0])
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = stage(1, num_blocks[1])
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = stage(2, num_blocks[2])
        self.down3_4 = Downsample(dim * 4)
        self.latent = stage(3, num_blocks[3])

        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, 1, bias=bias)
        self.decoder_level3 = stage(2, num_blocks[2])
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, 1, bias=bias)
        self.decoder_level2 = stage(1, num_blocks[1])
        # Level 1 of the decoder keeps the 2*dim channels of the concatenation (no reduction)
        # but uses level 1's head count.
        self.up2_1 = Upsample(dim * 2)
        self.decoder_level1 = nn.Sequential(*[
            SparseTransformerBlock(dim * 2, heads[0], ffn_expansion_factor, bias, layer_norm_type == 'WithBias')
            for _ in range(num_blocks[0])])
        self.refinement = MEFC(dim * 2, mefc_steps) if use_mefc else None
        self.output = nn.Conv2d(dim * 2, out_channels, 3, padding=1, bias=bias)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f'DRSformer: input size {h}x{w} must be a multiple of {self.size_multiple}; '
                             'pad it (ImageRestorer does this) or crop it')
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

        dec3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(latent), enc3], dim=1)))
        dec2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(dec3), enc2], dim=1)))
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], dim=1))
        if self.refinement is not None:
            dec1 = self.refinement(dec1)
        return (self.output(dec1) + x).contiguous()
