"""Pixel losses for training restorers; importing this package registers them."""
from .pixel_losses import CharbonnierLoss, L1Loss, MSELoss, PSNRLoss
from .rcdnet_loss import RCDNetLoss
from .ssim_loss import SSIMLoss, gaussian_window

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss', 'SSIMLoss', 'gaussian_window', 'RCDNetLoss']
