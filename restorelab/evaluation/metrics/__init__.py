"""Runner metrics; importing this package registers them in METRICS."""
from .base import PerImageMetric
from .no_reference import BRISQUE, NIQE
from .psnr_ssim import PSNR, SSIM

__all__ = ['BRISQUE', 'NIQE', 'PSNR', 'PerImageMetric', 'SSIM']
