"""PGFN, the Prior-Gated Feed-forward Network of FADformer (Gao et al., ECCV 2024, Fig. 2 (b)), and the
residue channel prior that gates it, as released in deng-ai-lab/FADformer (``models/FADformer.py``:
``get_residue``, ``Prior_Gated_Feed_forward_Network``, ``DownSample_RCP``, ``Upsample_RCP``)."""
import torch
import torch.nn as nn


def residue_channel_prior(image):
    """RCP: the largest minus the smallest channel of each pixel, (N, C, H, W) -> (N, 1, H, W).

    Rain streaks are near-achromatic, so this map keeps the scene's colour structure and loses
    most of the rain (the paper's RCP_0)."""
    return image.amax(dim=1, keepdim=True) - image.amin(dim=1, keepdim=True)


class PriorGatedFeedForward(nn.Module):
    """PGFN: ``(x, prior)`` -> ``(x', prior')``, x (N, dim, H, W), prior (N, 1, H, W).

    Feature path: 1x1 conv dim -> 2*dim + GELU (``conv_init``), 3x3 depth-wise conv + GELU
    (``conv_dw``), split into two halves of dim channels. Prior branch: 1x1 conv 1 -> dim // 2 +
    GELU (``mask_in``); its first two groups of dim // 4 channels give two spatial gate maps,
    sigmoid(3x3 conv) (``mask_dw_conv_1``) and sigmoid(5x5 conv) (``mask_dw_conv_2``), each of one
    channel, which multiply the two halves. Then 1x1 conv 2*dim -> dim + GELU (``conv_fina``) for the
    features, and 1x1 conv 2 -> 1 + GELU (``mask_out``) of the two gate maps for the next block's
    prior. The gate convs are full (not depth-wise) convs, padded by reflection as released.

    With dim // 2 odd, ``torch.split`` in the release leaves a third group of one channel, which it
    ignores; so does this module (only the first 2 * (dim // 4) channels are read).
    """

    def __init__(self, dim):
        super().__init__()
        if dim < 4:
            raise ValueError(f'PriorGatedFeedForward: dim={dim}; needs dim >= 4 (two gate groups of dim // 4)')
        self.dim = dim
        self.gate_channels = dim // 4  # the release's (dim * 2 // 4) // 2
        self.conv_init = nn.Sequential(nn.Conv2d(dim, dim * 2, 1), nn.GELU())
        self.conv_fina = nn.Sequential(nn.Conv2d(dim * 2, dim, 1), nn.GELU())
        self.conv_dw = nn.Sequential(
            nn.Conv2d(dim * 2, dim * 2, 3, padding=1, groups=dim * 2, padding_mode='reflect'), nn.GELU())
        self.mask_in = nn.Sequential(nn.Conv2d(1, dim * 2 // 4, 1), nn.GELU())
        self.mask_dw_conv_1 = nn.Sequential(
            nn.Conv2d(self.gate_channels, 1, 3, padding=1, padding_mode='reflect'), nn.Sigmoid())
        self.mask_dw_conv_2 = nn.Sequential(
            nn.Conv2d(self.gate_channels, 1, 5, padding=2, padding_mode='reflect'), nn.Sigmoid())
        self.mask_out = nn.Sequential(nn.Conv2d(2, 1, 1), nn.GELU())

    def forward(self, x, prior):
        x_1, x_2 = torch.split(self.conv_dw(self.conv_init(x)), self.dim, dim=1)
        p = self.mask_in(prior)
        c = self.gate_channels
        gate_1 = self.mask_dw_conv_1(p[:, :c])
        gate_2 = self.mask_dw_conv_2(p[:, c:2 * c])
        x = self.conv_fina(torch.cat([gate_1 * x_1, gate_2 * x_2], dim=1))
        return x, self.mask_out(torch.cat([gate_1, gate_2], dim=1))


class PriorDownsample(nn.Module):
    """The prior branch's downsampling: pixel-unshuffle by 2, then a 3x3 conv 4 -> 1 without bias
    (zero padding): (N, 1, H, W) -> (N, 1, H/2, W/2)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4, 1, 3, padding=1, bias=False))

    def forward(self, prior):
        return self.proj(prior)


class PriorUpsample(nn.Module):
    """The prior branch's upsampling: a 3x3 conv 1 -> 4 (reflection padding), then pixel-shuffle by
    2: (N, 1, H, W) -> (N, 1, 2H, 2W)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode='reflect'), nn.PixelShuffle(2))

    def forward(self, prior):
        return self.proj(prior)
