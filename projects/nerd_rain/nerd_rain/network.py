"""NeRD-Rain: Chen, Pan, Dong, "Bidirectional Multi-Scale Implicit Neural Representations for Image
Deraining", CVPR 2024. Official release: cschenxiang/NeRD-Rain at
295f4fdfdfadec6db14fc3fa8640ba04a7aef261 (``model.py``: ``MultiscaleNet``, dim 48, "NeRD-Rain";
``model_S.py``: the same with dim 32, "NeRD-Rain-S"; ``mlp.py``: the INR).

A multi-scale Transformer over three scales of the rainy image (the paper's overview figure):
S1 = 1/4, S2 = 1/2 and S3 = the input. Every scale runs Restormer-style encoder-bottleneck-decoders
(:class:`EncoderDecoder`, three levels of Restormer blocks: MDTA attention + GDFN): one at S1, two in
series at S2, three at S3. Between the scales:

- intra-scale INR (closed loop, coarse to fine): the bottleneck of the first encoder at S1 and S2
  (the "shared encoder") feeds an :class:`IntraScaleINR`, whose RGB residual added to the scale's
  input is supervised by that scale's ground truth and, upsampled, added to the next finer scale's
  input image;
- inter-scale bidirectional feedback: fine to coarse, a :class:`BFPU` fuses the bottlenecks of
  consecutive encoder-decoders of S3 (two BFPUs) and S2 (one), and its output, halved, is added to
  the bottlenecks of S2 and S1; coarse to fine, the last decoder features of S1 and S2, upsampled,
  are added to those of S2 and S3.

Each scale predicts its residual (output = conv(features) + the scale's rainy image); the final
output is S3's. ``forward_stages`` returns the five supervised images (the two INR outputs and the
three scale outputs, coarse to fine, the final output last) for the release's multi-scale loss.

Parameter names: every Restormer block keeps the release's (``norm1.body``, ``attn.qkv``,
``ffn.project_in`` ...) except the depth-wise convs, which the release wraps in a ``BasicConv``
(``attn.qkv_dwconv.main.0`` -> ``attn.qkv_dwconv``, ``ffn.dwconv.main.0`` -> ``ffn.dwconv``, the
layout of restorelab's Restormer blocks); the release's flat module names (``encoder_level1_mid2``,
``BF3``, ``upsmall2mid1`` ...) are grouped per scale here (``scale2.unets.1.encoder_level1``,
``scale2.bfpus.0``, ``scale1.inr.feature_upsample.0``); converter.py holds the table.

Differences from the release, none of which changes a number (float64 outputs equal, see
benchmarks/equivalence/nerd_rain.py):

- the release's last encoder-decoder of S3 decodes level 1 with the second one's 1x1 reduction
  (``reduce_chan_level1_max2``); its own ``reduce_chan_level1_max3`` is built, counted and saved but
  never used. Both are kept here (``scale3.unets.2.reduce_chan_level1`` is unused), so that the
  released files load and the parameter count is the release's; distributed training therefore
  needs ``find_unused_parameters=True`` (set in the configs);
- the release returns seven images (``[S3, S2, S1 outputs, S2 INR output, S2 input / 2, S1 INR
  output, S1 input]``); ``forward`` returns the final one (the release's first), ``forward_stages``
  the five the release's loss uses, in the order the release computes them (coarse to fine, the
  final output last, as every ``forward_stages`` in restorelab lists its stages);
- the release builds its coordinates and INR with ``.cuda()`` (it runs on CUDA only); here they
  follow the input's device;
- ``fast=True`` (the default) evaluates the INR's MLP once for its four identical local-ensemble
  terms (see :meth:`IntraScaleINR.query_rgb`), where the release evaluates it four times
  (``fast=False``): the same numbers, a quarter of the INR's MLP work.

Where the paper's figure and the release differ, the release is followed: images and features move
between scales with nearest-neighbour resampling (``F.interpolate`` by 0.5 / 0.25 / 2, i.e. every
other pixel, and pixel repetition), where the figure says bilinear upsampling.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.models.archs.common import PixelShuffleUpsample, PixelUnshuffleDownsample
from restorelab.models.archs.restormer import OverlapPatchEmbed, RestormerBlock
from restorelab.registry import MODELS

from .bfpu import BFPU
from .inr import RELEASE_FREQUENCIES, RELEASE_HIDDEN, IntraScaleINR


def _stage(num_blocks, dim, num_heads, block_args):
    return nn.Sequential(*[RestormerBlock(dim, num_heads, **block_args) for _ in range(num_blocks)])


def _half(x):
    """Nearest-neighbour 0.5x (the release's ``F.interpolate(x, scale_factor=0.5)``)."""
    return F.interpolate(x, scale_factor=0.5)


def _double(x):
    """Nearest-neighbour 2x (the release's ``F.interpolate(x, scale_factor=2)``)."""
    return F.interpolate(x, scale_factor=2)


class EncoderDecoder(nn.Module):
    """A three-level Restormer U-Net without its embedding and output convs:
    ``encode`` maps ``(N, d, H, W)`` to the skips ``(N, d, H, W)``, ``(N, 2d, H/2, W/2)`` and the
    bottleneck ``(N, 4d, H/4, W/4)``; ``decode`` maps them back to ``(N, d, H, W)``."""

    def __init__(self, dim, num_blocks, heads, block_args, bias):
        super().__init__()
        d1, d2, d3 = dim, dim * 2, dim * 4
        self.encoder_level1 = _stage(num_blocks[0], d1, heads[0], block_args)
        self.down1_2 = PixelUnshuffleDownsample(d1)
        self.encoder_level2 = _stage(num_blocks[1], d2, heads[1], block_args)
        self.down2_3 = PixelUnshuffleDownsample(d2)
        self.latent = _stage(num_blocks[2], d3, heads[2], block_args)
        self.up3_2 = PixelShuffleUpsample(d3)
        self.reduce_chan_level2 = nn.Conv2d(d3, d2, kernel_size=1, bias=bias)
        self.decoder_level2 = _stage(num_blocks[1], d2, heads[1], block_args)
        self.up2_1 = PixelShuffleUpsample(d2)
        self.reduce_chan_level1 = nn.Conv2d(d2, d1, kernel_size=1, bias=bias)
        self.decoder_level1 = _stage(num_blocks[0], d1, heads[0], block_args)

    def encode(self, x):
        enc1 = self.encoder_level1(x)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        return enc1, enc2, self.latent(self.down2_3(enc2))

    def decode(self, latent, enc1, enc2, reduce_chan_level1=None):
        """``reduce_chan_level1``: the level-1 1x1 conv to use (default this U-Net's own)."""
        reduce1 = self.reduce_chan_level1 if reduce_chan_level1 is None else reduce_chan_level1
        dec2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(latent), enc2], 1)))
        return self.decoder_level1(reduce1(torch.cat([self.up2_1(dec2), enc1], 1)))


class ScaleBranch(nn.Module):
    """One scale: ``patch_embed`` (3x3 conv), ``num_unets`` encoder-decoders in series joined by 3x3
    ``contexts`` convs, a :class:`BFPU` between each two consecutive bottlenecks, an
    :class:`IntraScaleINR` on the first bottleneck (S1 and S2) and the ``output`` 3x3 conv."""

    def __init__(self, num_unets, dim, in_channels, out_channels, num_blocks, heads, block_args, bias,
                 inr=None):
        super().__init__()
        self.patch_embed = OverlapPatchEmbed(in_channels, dim)
        self.unets = nn.ModuleList(
            EncoderDecoder(dim, num_blocks, heads, block_args, bias) for _ in range(num_unets))
        self.contexts = nn.ModuleList(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=bias) for _ in range(num_unets - 1))
        self.bfpus = nn.ModuleList(BFPU(dim * 4) for _ in range(num_unets - 1))
        if inr is not None:
            self.inr = inr
        self.output = nn.Conv2d(dim, out_channels, 3, 1, 1, bias=bias)


@MODELS.register_module()
class NeRDRain(nn.Module):
    """NeRD-Rain: ``(N, 3, H, W) -> (N, 3, H, W)``, H and W multiples of ``size_multiple`` (16: S1
    is a quarter of the input and its encoder-decoder halves it twice).

    Args:
        dim: width of the first level (48: NeRD-Rain, ``model.py``; 32: NeRD-Rain-S, ``model_S.py``);
            levels 2 and 3 have 2 and 4 times as many channels.
        num_blocks: Restormer blocks per level (level 1, 2, 3 / bottleneck), each encoder and
            decoder; ``heads``: attention heads per level.
        ffn_expansion_factor, bias, LayerNorm_type: the Restormer blocks' (release names).
        inr_hidden, inr_frequencies: the INR MLP's hidden widths and the number of positional
            encoding frequencies L (the release's module constants in mlp.py).
        fast: one MLP evaluation for the INR's four identical local-ensemble terms (the same
            numbers); False evaluates it four times, as released.
    """

    size_multiple = 16

    def __init__(self,
                 inp_channels=3,
                 out_channels=3,
                 dim=48,
                 num_blocks=(2, 3, 3),
                 heads=(1, 2, 4),
                 ffn_expansion_factor=2.66,
                 bias=False,
                 LayerNorm_type='WithBias',  # noqa: N803 (the release's option name)
                 inr_hidden=RELEASE_HIDDEN,
                 inr_frequencies=RELEASE_FREQUENCIES,
                 fast=True):
        super().__init__()
        if len(num_blocks) != 3 or len(heads) != 3:
            raise ValueError(f'NeRDRain: num_blocks and heads need 3 entries (one per level), got '
                             f'num_blocks={list(num_blocks)}, heads={list(heads)}')
        if inp_channels != out_channels:
            raise ValueError(f'NeRDRain: every scale adds its input image to its output, so '
                             f'inp_channels must equal out_channels, got {inp_channels} and {out_channels}')
        # The Restormer blocks' plain formulation (restorelab's RestormerBlock, fast=False).
        block_args = dict(ffn_expansion_factor=ffn_expansion_factor, bias=bias,
                          layer_norm_type=LayerNorm_type, fast=False)
        common = dict(dim=dim, in_channels=inp_channels, out_channels=out_channels, num_blocks=num_blocks,
                      heads=heads, block_args=block_args, bias=bias)

        def inr():  # bottleneck (4 dim, h/4) -> two pixel-shuffle upsamplings -> (dim, h) -> INR
            upsample = nn.Sequential(PixelShuffleUpsample(dim * 4), PixelShuffleUpsample(dim * 2))
            return IntraScaleINR(dim, inr_hidden, inr_frequencies, feature_upsample=upsample, fast=fast)

        self.scale1 = ScaleBranch(1, inr=inr(), **common)  # S1: 1/4 of the input
        self.scale2 = ScaleBranch(2, inr=inr(), **common)  # S2: 1/2
        self.scale3 = ScaleBranch(3, **common)             # S3: the input

    def forward(self, x):
        return self.forward_stages(x)[-1]

    def forward_stages(self, x):
        """``[S1 INR output (H/4), S2 INR output (H/2), S1 output (H/4), S2 output (H/2), S3 output
        (H, W)]``: the images the release's loss supervises, the final output last."""
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f'NeRDRain: input H={h}, W={w} must be multiples of {self.size_multiple}; '
                             'pad it (ImageRestorer does this from arch.size_multiple)')
        s1, s2, s3 = self.scale1, self.scale2, self.scale3
        x3 = x
        x2 = _half(x)
        x1 = F.interpolate(x, scale_factor=0.25)

        # S1: the shared encoder and the intra-scale INR; its output, upsampled, joins S2's input.
        enc1_s1, enc2_s1, latent_s1 = s1.unets[0].encode(s1.patch_embed(x1))
        inr_s1 = s1.inr(latent_s1) + x1
        y2 = x2 + _double(inr_s1)

        # S2: the same with its first encoder-decoder; its INR output joins S3's input.
        enc1_s2a, enc2_s2a, latent_s2a = s2.unets[0].encode(s2.patch_embed(y2))
        inr_s2 = s2.inr(latent_s2a) + y2
        y3 = x3 + _double(inr_s2)

        # S3: three encoder-decoders in series; the last one's decoder runs at the end.
        enc1, enc2, latent_s3a = s3.unets[0].encode(s3.patch_embed(y3))
        dec = s3.contexts[0](s3.unets[0].decode(latent_s3a, enc1, enc2))
        enc1, enc2, latent_s3b = s3.unets[1].encode(dec)
        dec = s3.contexts[1](s3.unets[1].decode(latent_s3b, enc1, enc2))
        enc1_s3c, enc2_s3c, latent_s3c = s3.unets[2].encode(dec)
        # Fine-to-coarse feedback: S3's BFPUs, halved, go into S2's two bottlenecks.
        feedback_s2a = _half(s3.bfpus[0](latent_s3a, latent_s3b))
        feedback_s2b = _half(s3.bfpus[1](latent_s3b, latent_s3c))

        # S2: decode the first encoder-decoder with the feedback, then encode the second.
        dec = s2.contexts[0](s2.unets[0].decode(latent_s2a + feedback_s2a, enc1_s2a, enc2_s2a))
        enc1_s2b, enc2_s2b, latent_s2b = s2.unets[1].encode(dec)
        feedback_s1 = _half(s2.bfpus[0](latent_s2a, latent_s2b))

        # Coarse-to-fine: S1's decoder features join S2's, and S2's join S3's.
        dec_s1 = s1.unets[0].decode(latent_s1 + feedback_s1, enc1_s1, enc2_s1)
        out_s1 = s1.output(dec_s1) + x1
        dec_s2 = s2.unets[1].decode(latent_s2b + feedback_s2b, enc1_s2b, enc2_s2b) + _double(dec_s1)
        out_s2 = s2.output(dec_s2) + x2
        # As released: the last decoder reduces level 1 with the second encoder-decoder's 1x1 conv.
        dec_s3 = s3.unets[2].decode(latent_s3c, enc1_s3c, enc2_s3c,
                                    reduce_chan_level1=s3.unets[1].reduce_chan_level1) + _double(dec_s2)
        out_s3 = s3.output(dec_s3) + x3
        return [inr_s1, inr_s2, out_s1, out_s2, out_s3]
