"""Runner metrics; importing this package registers them in METRICS."""
from .psnr_ssim import PSNR, SSIM

__all__ = ['PSNR', 'SSIM']
