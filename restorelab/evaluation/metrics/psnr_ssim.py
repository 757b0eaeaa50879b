"""PSNR and SSIM as mmengine metrics, computed by ``evaluation.functional``."""
import os

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from restorelab.registry import METRICS

from ..functional import check_protocol, check_quantize, compute_metrics_from_float


def _to_hwc_numpy(img, field, key):
    """A ``(3, H, W)`` float tensor/array in [0, 1] -> ``(H, W, 3)`` numpy, dtype kept."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[0] != 3 or not np.issubdtype(img.dtype, np.floating):
        raise ValueError(
            f'sample {key!r}: {field} must be a (3, H, W) float RGB tensor in [0, 1], got '
            f'{img.dtype} {tuple(img.shape)}')
    return img.transpose(1, 2, 0)


def _sample_key(sample, index):
    key = sample.get('key')
    if key is None and sample.get('img_path'):
        key = os.path.basename(sample['img_path'])
    return key if key is not None else f'sample {index}'


class _ProtocolMetric(BaseMetric):
    """Mean over images of a per-image metric under an evaluation protocol.

    Reads ``pred_img`` and ``gt_img`` (``(3, H, W)`` float in [0, 1]) of each
    data sample, quantises both to 8 bits (the prediction as ``quantize`` says, the
    ground truth rounded back to its file's values) and scores them with
    :func:`restorelab.evaluation.functional.compute_metrics`. The per-image
    values are appended to ``self.results`` as ``{'key': ..., '<name>': value}``
    and, after ``evaluate``, kept (gathered from all ranks) in
    ``self.per_image``. The result key is ``PSNR``/``SSIM``; with
    ``prefix='Rain200H'`` mmengine logs ``Rain200H/PSNR``.

    Args:
        protocol: 'restormer', 'rcdnet' or 'basicsr'.
        crop_border: pixels removed from each edge (``basicsr`` only).
        quantize: how the prediction becomes 8 bits: 'round' (restorelab, Restormer,
            DRSformer) or 'truncate' (``np.uint8(255 * out)`` of the PReNet/BRN/AIDNet
            test scripts).
        prefix: the name of the test set, prepended to the result key.
        collect_device: where results are gathered in distributed runs.
    """

    metric = None  # 'psnr' or 'ssim', set by subclasses

    def __init__(self, protocol='restormer', crop_border=0, quantize='round', prefix=None,
                 collect_device='cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.per_image = []
        self.protocol = check_protocol(protocol, crop_border)
        self.crop_border = crop_border
        self.quantize = check_quantize(quantize)

    def process(self, data_batch, data_samples):
        """Score each sample of a batch (dicts from the Evaluator, or DataSamples)."""
        for index, sample in enumerate(data_samples):
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            key = _sample_key(sample, len(self.results) + index)
            for field in ('pred_img', 'gt_img'):
                if sample.get(field) is None:
                    what = ('the restorer did not set it (is the model in predict mode?)'
                            if field == 'pred_img' else
                            'the dataset gave no ground truth; full-reference metrics need paired '
                            'data (use a no-reference metric for real rain without ground truth)')
                    raise ValueError(
                        f'{type(self).__name__}: sample {key!r} has no {field}: {what}')
            pred = _to_hwc_numpy(sample['pred_img'], 'pred_img', key)
            gt = _to_hwc_numpy(sample['gt_img'], 'gt_img', key)
            names = (sample.get('img_path') or key, sample.get('gt_path') or f'gt of {key}')
            value = compute_metrics_from_float(
                pred, gt, self.protocol, self.crop_border, metrics=(self.metric,),
                names=names, quantize=self.quantize)[self.metric]
            self.results.append({'key': key, self.metric: value})

    def compute_metrics(self, results):
        """Mean of the per-image values (inf if any image is identical to its gt)."""
        # Kept after the evaluator clears self.results (on the rank that computes).
        self.per_image = [dict(r) for r in results]
        values = [r[self.metric] for r in results]
        return {self.metric.upper(): float(np.mean(values))}


@METRICS.register_module()
class PSNR(_ProtocolMetric):
    """Peak signal-to-noise ratio (dB) under an evaluation protocol; see _ProtocolMetric."""

    metric = 'psnr'


@METRICS.register_module()
class SSIM(_ProtocolMetric):
    """Structural similarity under an evaluation protocol; see _ProtocolMetric."""

    metric = 'ssim'
