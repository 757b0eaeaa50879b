"""Pixel losses for training restorers; importing this package registers them."""
from .edge_loss import EdgeLoss
from .fft_loss import FFTLoss
from .multi_scale_loss import MultiScaleLoss, gaussian_pyramid, pyramid_down
from .pixel_losses import CharbonnierLoss, L1Loss, MSELoss, PSNRLoss
from .ssim_loss import SSIMLoss, gaussian_window

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss', 'SSIMLoss', 'gaussian_window', 'EdgeLoss',
           'FFTLoss', 'MultiScaleLoss', 'gaussian_pyramid', 'pyramid_down']
