"""Pure-numpy metrics: the single implementation of every evaluation protocol."""
from .brisque import brisque_from_features, load_brisque_params
from .psnr_ssim import (CHANNELS, METRIC_NAMES, PROTOCOLS, QUANTIZE_MODES, ImageSizeError,
                        check_channels, check_image_pair, check_protocol, check_quantize, compute_metrics,
                        compute_metrics_from_float, float_to_uint8, gaussian_window,
                        matlab_round, psnr, quantize_image, rgb_to_y, ssim,
                        ssim_2009_downsample, ssim_map)

__all__ = [
    'CHANNELS', 'METRIC_NAMES', 'PROTOCOLS', 'QUANTIZE_MODES', 'ImageSizeError', 'check_channels',
    'check_image_pair',
    'check_protocol', 'check_quantize', 'compute_metrics', 'compute_metrics_from_float',
    'float_to_uint8', 'gaussian_window', 'matlab_round', 'psnr', 'quantize_image', 'rgb_to_y',
    'ssim', 'ssim_2009_downsample', 'ssim_map', 'brisque_from_features', 'load_brisque_params',
]
