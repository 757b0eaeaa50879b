"""Runner metrics; importing this package registers them in METRICS."""
from .brisque import BRISQUE
from .niqe import NIQE
from .psnr_ssim import PSNR, SSIM

__all__ = ['BRISQUE', 'NIQE', 'PSNR', 'SSIM']
