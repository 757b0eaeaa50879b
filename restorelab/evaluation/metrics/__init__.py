"""Runner metrics; importing this package registers them in METRICS."""
from .niqe import NIQE
from .psnr_ssim import PSNR, SSIM

__all__ = ['NIQE', 'PSNR', 'SSIM']
