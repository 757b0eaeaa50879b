"""The frequency-domain half of FADformer's token mixer (Gao et al., ECCV 2024, Fig. 2 (a), right):
the Fourier unit (FFT-2D -> PConv -> BN -> ReLU -> inverse FFT-2D) and the Frequency-Domain Fusion
around it, as released in deng-ai-lab/FADformer (``models/FADformer.py``: ``FourierUnit``,
``Freq_Fusion``)."""
import torch
import torch.nn as nn

# torch.fft has no bfloat16 kernels (and float16 ones only on CUDA, for powers of two): a spectrum
# of a reduced-precision tensor is computed in float32.
_REDUCED_PRECISION = (torch.float16, torch.bfloat16)


class FourierUnit(nn.Module):
    """A 1x1 conv, batch norm and ReLU applied to the 2-D spectrum of each channel:
    (N, C, H, W) -> (N, C, H, W), H and W of any size (odd ones too).

    ``rfft2`` (orthonormal) gives the half spectrum, (N, C, H, W // 2 + 1) complex; its real and
    imaginary parts become 2C real channels ordered as released (channel 2c the real part of input
    channel c, 2c + 1 its imaginary part), pass ``conv_layer`` (2C -> 2C, no bias), ``bn`` and a
    ReLU, are paired back into C complex channels and return through ``irfft2`` with the input's
    size given explicitly (``s=(H, W)``), so that odd widths come back whole.
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv_layer = nn.Conv2d(in_channels * 2, out_channels * 2, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels * 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        h, w = x.shape[-2:]
        if x.dtype in _REDUCED_PRECISION:
            x = x.float()
        spectrum = torch.fft.rfft2(x, norm='ortho')
        z = torch.stack((spectrum.real, spectrum.imag), dim=2).flatten(1, 2)  # (N, 2C, H, W//2+1)
        z = self.relu(self.bn(self.conv_layer(z)))
        z = z.unflatten(1, (-1, 2)).to(spectrum.real.dtype)  # autocast may have left it reduced
        spectrum = torch.complex(z[:, :, 0], z[:, :, 1])
        return torch.fft.irfft2(spectrum, s=(h, w), norm='ortho')


class FrequencyDomainFusion(nn.Module):
    """Frequency-Domain Fusion: (N, 2*dim, H, W) -> (N, 2*dim, H, W).

    The two halves of the input (the 3x3 and 5x5 depth-wise branches of the mixer) each pass a 1x1
    conv + GELU (``conv_init_1``, ``conv_init_2``: the figure's PConvs after the branches), are
    concatenated into ``x0``, and ``ReLU(BN(FourierUnit(x0) + x0))`` is returned.

    ``conv_mid`` (1x1 conv 2*dim -> dim + GELU) is defined by the release but never called: it is
    kept so that the parameter count and the released checkpoints match the release's module
    (paper's 6.958 M is the count without it, see the project's README); it receives no gradient.
    """

    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.conv_init_1 = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.GELU())
        self.conv_init_2 = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.GELU())
        self.conv_mid = nn.Sequential(nn.Conv2d(dim * 2, dim, 1), nn.GELU())  # unused, as released
        self.fourier_unit = FourierUnit(dim * 2, dim * 2)
        self.bn = nn.BatchNorm2d(dim * 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x_1, x_2 = torch.split(x, self.dim, dim=1)
        x0 = torch.cat([self.conv_init_1(x_1), self.conv_init_2(x_2)], dim=1)
        return self.relu(self.bn(self.fourier_unit(x0) + x0))
