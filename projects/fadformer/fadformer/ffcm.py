"""FFCM, the Fused Fourier Conv Mixer of FADformer (Gao et al., ECCV 2024, Fig. 2 (a)), as released in
deng-ai-lab/FADformer (``models/FADformer.py``: ``Fused_Fourier_Conv_Mixer``)."""
import torch
import torch.nn as nn

from .fourier import FrequencyDomainFusion


class FusedFourierConvMixer(nn.Module):
    """FADformer's token mixer: (N, dim, H, W) -> (N, dim, H, W).

    1. ``conv_init``: 1x1 conv dim -> 2*dim + GELU;
    2. local branches: a 3x3 (``dw_conv_1``) and a 5x5 (``dw_conv_2``) depth-wise conv + GELU,
       concatenated (2*dim channels);
    3. ``fusion``: Frequency-Domain Fusion (1x1 convs, Fourier unit, residual, BN, ReLU);
    4. ``ca_conv``: 1x1 conv 2*dim -> dim, 3x3 depth-wise conv, GELU;
    5. ``ca``: channel attention, x * sigmoid(W2 GELU(W1 avgpool(x))) with dim // 4 hidden units.

    As released, both depth-wise branches read the *first* half of ``conv_init``'s output; the
    second half is computed and discarded (the figure splits the two halves between the branches).
    Steps 4-5 are the figure's final PConv; the release adds the depth-wise conv and the channel
    attention, which the figure does not show. Depth-wise convs pad by reflection, as released.
    """

    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.conv_init = nn.Sequential(nn.Conv2d(dim, dim * 2, 1), nn.GELU())
        self.dw_conv_1 = nn.Sequential(
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim, padding_mode='reflect'), nn.GELU())
        self.dw_conv_2 = nn.Sequential(
            nn.Conv2d(dim, dim, 5, padding=2, groups=dim, padding_mode='reflect'), nn.GELU())
        self.fusion = FrequencyDomainFusion(dim)
        self.ca_conv = nn.Sequential(
            nn.Conv2d(dim * 2, dim, 1),
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim, padding_mode='reflect'),
            nn.GELU())
        self.ca = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(dim, dim // 4, 1),
            nn.GELU(),
            nn.Conv2d(dim // 4, dim, 1),
            nn.Sigmoid())

    def forward(self, x):
        x = self.conv_init(x)[:, :self.dim]  # the release's first half (its second is unused)
        x = torch.cat([self.dw_conv_1(x), self.dw_conv_2(x)], dim=1)
        x = self.ca_conv(self.fusion(x))
        return self.ca(x) * x
