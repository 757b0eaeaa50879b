"""FADformer (Ning Gao, Xingyu Jiang, Xiuhui Zhang, Yue Deng, "Efficient Frequency-Domain Image
Deraining with Contrastive Regularization", ECCV 2024), as released in deng-ai-lab/FADformer at commit
75a883580dfebf29b70a40191a92a6d0d348b263 (``models/FADformer.py``: ``FADBackbone``, ``FADformer()``,
``FADformer_mini()``).

Differences from the release (none changes the function):

* One width ``dim`` instead of the release's list ``embed_dim``: its downsampling always doubles the
  channels and its skips halve them, so only ``[C, 2C, 4C, 2C, C]`` builds; the release's unused
  arguments (``patch_size``, ``local_size``, kernel-size lists, ``se_ratio``, ...) are dropped.
* Two modules are named after the paper's figure: the mixer's ``mixer_gloal`` is ``fusion``
  (Frequency-Domain Fusion) and its ``FFC`` is ``fourier_unit``; the converter renames those keys.
* Inputs smaller than 12x12 are refused with a ValueError (the release fails inside a
  reflection pad): the 5x5 reflection-padded convs at 1/4 resolution need 3 pixels there.
* Reduced-precision inputs (bfloat16 autocast) compute their spectra in float32: torch.fft has no
  bfloat16 kernels. float32 and float64 run the release's operations.
"""
import torch
import torch.nn as nn

from restorelab.registry import MODELS

from .ffcm import FusedFourierConvMixer
from .pgfn import PriorDownsample, PriorGatedFeedForward, PriorUpsample, residue_channel_prior

RELEASE_VARIANTS = {  # the release's two constructors
    'FADformer': dict(dim=32, depths=(4, 8, 10, 8, 4)),
    'FADformer_mini': dict(dim=24, depths=(2, 3, 4, 3, 2)),
}
MIN_SIZE = 12


class FADBlock(nn.Module):
    """The Frequency-Aware Deraining Block (FDB): ``(x, prior)`` -> ``(x', prior')``.

    x + FFCM(BN(x)), then x + PGFN(BN(x), prior); PGFN also returns the next block's prior.
    Batch norm (not layer norm) before both, as in the paper and the release."""

    def __init__(self, dim):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(dim)
        self.norm2 = nn.BatchNorm2d(dim)
        self.mixer = FusedFourierConvMixer(dim)
        self.ffn = PriorGatedFeedForward(dim)

    def forward(self, x, prior):
        x = x + self.mixer(self.norm1(x))
        y, prior = self.ffn(self.norm2(x), prior)
        return x + y, prior


class FADStage(nn.Module):
    """``depth`` FADBlocks in a row, the prior passed from block to block."""

    def __init__(self, dim, depth):
        super().__init__()
        self.blocks = nn.ModuleList(FADBlock(dim) for _ in range(depth))

    def forward(self, x, prior):
        for block in self.blocks:
            x, prior = block(x, prior)
        return x, prior


class Downsample(nn.Module):
    """3x3 conv C -> C/2 without bias (zero padding), pixel-unshuffle by 2: (N, C, H, W) -> (N, 2C, H/2, W/2)."""

    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x):
        return self.proj(x)


class Upsample(nn.Module):
    """3x3 conv C -> 4 * out_dim (reflection padding), pixel-shuffle by 2: (N, C, H, W) -> (N, out_dim, 2H, 2W)."""

    def __init__(self, dim, out_dim):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(dim, out_dim * 4, 3, padding=1, padding_mode='reflect'),
                                  nn.PixelShuffle(2))

    def forward(self, x):
        return self.proj(x)


class PatchEmbed(nn.Module):
    """3x3 conv in_channels -> dim, reflection padding."""

    def __init__(self, in_channels, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, 3, padding=1, padding_mode='reflect')

    def forward(self, x):
        return self.proj(x)


class PatchUnEmbed(nn.Module):
    """3x3 conv dim -> out_channels, then 3x3 conv out_channels -> out_channels, reflection padding."""

    def __init__(self, dim, out_channels):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(dim, out_channels, 3, padding=1, padding_mode='reflect'),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, padding_mode='reflect'))

    def forward(self, x):
        return self.proj(x)


@MODELS.register_module()
class FADformer(nn.Module):
    """FADformer deraining network: (N, 3, H, W) rainy image in [0, 1] -> (N, 3, H, W) derained image.

    A 3-level U-shaped network of FADBlocks (``layer1``..``layer5`` with ``depths`` blocks, widths
    dim, 2 dim, 4 dim, 2 dim, dim), pixel-(un)shuffle resampling, 1x1 convs fusing the skips
    (``skip1``, ``skip2``), and the prior branch: the residue channel prior of the input, carried
    through every block's PGFN and resampled beside the features (``down_rcp*``, ``up_rcp*``). The
    network predicts the residual: output = input + F(input).

    Args:
        in_channels, out_channels: 3 and 3 as released (the residual needs them equal).
        dim: width of the first level (32 for FADformer, 24 for FADformer_mini); at least 4.
        depths: FADBlocks of the five stages (encoder 1, encoder 2, bottleneck, decoder 2, decoder 1).

    H and W must be multiples of 4 (``size_multiple``; the restorer pads) and at least 12; any
    such size works, odd sizes at 1/2 and 1/4 resolution included.
    """

    size_multiple = 4

    def __init__(self, in_channels=3, out_channels=3, dim=32, depths=(4, 8, 10, 8, 4)):
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(f'FADformer: in_channels={in_channels} and out_channels={out_channels} must be '
                             'equal (the network adds its input to its output)')
        if dim < 4 or dim % 2:
            raise ValueError(f'FADformer: dim={dim}; expected an even number >= 4 (the downsampling halves '
                             'it before the pixel-unshuffle, PGFN needs dim // 4 >= 1)')
        if len(depths) != 5 or min(depths) < 1:
            raise ValueError(f'FADformer: depths={depths}; expected five block counts >= 1 (encoder 1, '
                             'encoder 2, bottleneck, decoder 2, decoder 1)')
        self.patch_embed = PatchEmbed(in_channels, dim)
        self.layer1 = FADStage(dim, depths[0])
        self.skip1 = nn.Conv2d(dim * 2, dim, 1)
        self.downsample1 = Downsample(dim)
        self.down_rcp1 = PriorDownsample()
        self.layer2 = FADStage(dim * 2, depths[1])
        self.skip2 = nn.Conv2d(dim * 4, dim * 2, 1)
        self.downsample2 = Downsample(dim * 2)
        self.down_rcp2 = PriorDownsample()
        self.layer3 = FADStage(dim * 4, depths[2])
        self.upsample1 = Upsample(dim * 4, dim * 2)
        self.up_rcp1 = PriorUpsample()
        self.layer4 = FADStage(dim * 2, depths[3])
        self.upsample2 = Upsample(dim * 2, dim)
        self.up_rcp2 = PriorUpsample()
        self.layer5 = FADStage(dim, depths[4])
        self.patch_unembed = PatchUnEmbed(dim, out_channels)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple or min(h, w) < MIN_SIZE:
            raise ValueError(f'FADformer: input {h}x{w}; H and W must be multiples of {self.size_multiple} '
                             f'and at least {MIN_SIZE} (ImageRestorer pads to the multiple)')
        prior = residue_channel_prior(x)
        feat, prior = self.layer1(self.patch_embed(x), prior)
        skip1 = feat
        feat, prior = self.layer2(self.downsample1(feat), self.down_rcp1(prior))
        skip2 = feat
        feat, prior = self.layer3(self.downsample2(feat), self.down_rcp2(prior))
        feat = self.skip2(torch.cat([self.upsample1(feat), skip2], dim=1))
        feat, prior = self.layer4(feat, self.up_rcp1(prior))
        feat = self.skip1(torch.cat([self.upsample2(feat), skip1], dim=1))
        feat, _ = self.layer5(feat, self.up_rcp2(prior))  # the last prior is not used, as released
        return x + self.patch_unembed(feat)
