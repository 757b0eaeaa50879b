"""PSNR and SSIM as mmengine metrics, computed by ``evaluation.functional``."""
from restorelab.registry import METRICS

from ..functional import check_channels, check_protocol, compute_metrics
from .base import PerImageMetric


class _ProtocolMetric(PerImageMetric):
    """PSNR or SSIM of each image under an evaluation protocol (see :class:`PerImageMetric`).

    Args:
        protocol: 'restormer', 'rcdnet' or 'basicsr'.
        crop_border: pixels removed from each edge (``basicsr`` only).
        channels: 'y' (the protocol's luma, the declared convention of every deraining
            protocol) or 'rgb' (the three colour channels; the result key gets ``_RGB``:
            ``PSNR_RGB``).
        quantize: how a float prediction becomes 8 bits: 'round' (restorelab, Restormer,
            DRSformer) or 'truncate' (``np.uint8(255 * out)`` of the PReNet/BRN/AIDNet test
            scripts).
        prefix: the name of the test set, prepended to the result key (``Rain200H/PSNR``).
    """

    metric = None  # 'psnr' or 'ssim'

    def __init__(self, protocol='restormer', crop_border=0, channels='y', quantize='round',
                 prefix=None, collect_device='cpu'):
        super().__init__(quantize=quantize, prefix=prefix, collect_device=collect_device)
        self.protocol = check_protocol(protocol, crop_border)
        self.crop_border = crop_border
        self.channels = check_channels(channels)
        self.name = self.result_name(dict(channels=channels))

    def score(self, pred, gt, names):
        return compute_metrics(pred, gt, self.protocol, self.crop_border, (self.metric,), names,
                               self.channels)[self.metric]

    @classmethod
    def result_name(cls, cfg):
        return cls.metric.upper() + ('_RGB' if cfg.get('channels', 'y') == 'rgb' else '')

    @classmethod
    def other_convention(cls, cfg):
        return dict(cfg, channels='rgb' if cfg.get('channels', 'y') == 'y' else 'y')


@METRICS.register_module()
class PSNR(_ProtocolMetric):
    """Peak signal-to-noise ratio (dB) under an evaluation protocol; see _ProtocolMetric."""

    metric = 'psnr'
    decimals = 2


@METRICS.register_module()
class SSIM(_ProtocolMetric):
    """Structural similarity under an evaluation protocol; see _ProtocolMetric."""

    metric = 'ssim'
