"""Pixel losses for training restorers; importing this package registers them."""
from .attention_mask import AttentionMaskLoss, rain_mask
from .composite_loss import CompositeLoss
from .edge_loss import EdgeLoss, Laplacian3x3EdgeLoss
from .fft_loss import FFTLoss
from .multi_scale_loss import MultiScaleLoss, gaussian_pyramid, pyramid_down
from .multi_stage import MultiStageLoss
from .pixel_losses import CharbonnierLoss, L1Loss, MSELoss, PSNRLoss
from .ssim_loss import SSIMLoss, gaussian_window

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss', 'SSIMLoss', 'gaussian_window', 'EdgeLoss',
           'Laplacian3x3EdgeLoss', 'CompositeLoss', 'MultiStageLoss', 'AttentionMaskLoss', 'rain_mask',
           'FFTLoss', 'MultiScaleLoss', 'gaussian_pyramid', 'pyramid_down']
