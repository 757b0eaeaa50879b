"""The frequency loss of DeepRFT and NeRD-Rain: the mean modulus of the difference of the 2-D DFTs.

From cschenxiang/NeRD-Rain ``losses.py`` (``fftLoss``, after INVOKERer/DeepRFT), which NeRD-Rain
trains with at weight 0.01 beside the Charbonnier and edge losses.
"""
import torch

from restorelab.registry import MODELS
from .pixel_losses import _PixelLoss


@MODELS.register_module()
class FFTLoss(_PixelLoss):
    """``|fft2(pred) - fft2(target)|`` per frequency (unnormalised DFT over H and W, per image and
    channel), reduced like the pixel losses; ``weight`` weights frequencies, not pixels."""

    def elementwise(self, pred, target):
        return (torch.fft.fft2(pred) - torch.fft.fft2(target)).abs()
