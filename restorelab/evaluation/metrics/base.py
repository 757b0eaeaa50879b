"""PerImageMetric: the base of restorelab's metrics, one value per image and their mean."""
import os

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from ..functional import check_quantize, float_to_uint8


def to_uint8_image(img, field, key, quantize='round'):
    """A ``(3, H, W)`` image of a data sample as ``(H, W, 3)`` uint8 RGB: a uint8 tensor/array
    as it is (a saved 8-bit file), a float one in [0, 1] or a uint16 one (a saved 16-bit file)
    quantised to 8 bits as ``quantize`` says."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[0] != 3 or not (
            img.dtype in (np.uint8, np.uint16) or np.issubdtype(img.dtype, np.floating)):
        raise ValueError(f'sample {key!r}: {field} must be a (3, H, W) RGB tensor, float in [0, 1] '
                         f'or uint8/uint16, got {img.dtype} {tuple(img.shape)}')
    img = img.transpose(1, 2, 0)
    if img.dtype == np.uint16:
        img = img.astype(np.float64) / 65535
    return img if img.dtype == np.uint8 else float_to_uint8(img, quantize)


class PerImageMetric(BaseMetric):
    """Scores every image of a test set on its own and reports the mean.

    A new metric is a subclass setting ``name`` (its result key, e.g. ``'PSNR'``; logged as
    ``<prefix>/<name>``), ``higher_is_better`` and ``decimals`` (how tables print it) and
    implementing :meth:`score`; registered in ``METRICS`` it is used by a dataset config's
    ``test_evaluator`` line (``dict(type='MyMetric', prefix='Rain200H')``) in tools/test.py,
    validation, the benchmark (a column of its tables) and folder scoring alike.

    Each sample's ``pred_img`` (and ``gt_img`` when ``needs_gt``) is brought to 8-bit RGB
    (float predictions quantised as ``quantize`` says: 'round', or 'truncate' as the
    PReNet/BRN/AIDNet test scripts save; float ground truths rounded back to their file's
    values; uint8 images as they are). After ``evaluate`` the per-image values of the whole
    set (gathered from every process, the distributed sampler's padding dropped) are in
    ``self.per_image`` on the process that computes: ``[{'key': ..., <name>: value}]``.
    """

    name = None
    higher_is_better = True
    decimals = 4
    needs_gt = True

    def __init__(self, quantize='round', prefix=None, collect_device='cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.quantize = check_quantize(quantize)
        self.per_image = []

    def score(self, pred, gt, names):
        """The metric of one image: ``pred``/``gt`` ``(H, W, 3)`` uint8 RGB (``gt`` None for a
        no-reference metric); ``names`` = (result, ground truth) for messages."""
        raise NotImplementedError

    @classmethod
    def result_name(cls, cfg):
        """The result key (``name``) a metric built from ``cfg`` reports."""
        return cls.name

    @classmethod
    def other_convention(cls, cfg):
        """The config of this metric in the other convention its numbers are reported in by
        some papers (PSNR/SSIM: RGB beside Y), or None; see the benchmark's tables."""
        return None

    def process(self, data_batch, data_samples):
        for index, sample in enumerate(data_samples):
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            key = sample.get('key')
            if key is None and sample.get('img_path'):
                key = os.path.splitext(os.path.basename(sample['img_path']))[0]
            key = key if key is not None else f'sample {len(self.results) + index}'
            images = []
            for field in ('pred_img', 'gt_img') if self.needs_gt else ('pred_img',):
                if sample.get(field) is None:
                    what = ('the restorer did not set it (is the model in predict mode?)'
                            if field == 'pred_img' else
                            'the dataset gave no ground truth; full-reference metrics need paired '
                            'data (use a no-reference metric for real rain without ground truth)')
                    raise ValueError(f'{type(self).__name__}: sample {key!r} has no {field}: {what}')
                images.append(to_uint8_image(sample[field], field, key,
                                             self.quantize if field == 'pred_img' else 'round'))
            names = (sample.get('img_path') or key, sample.get('gt_path') or f'gt of {key}')
            try:
                value = self.score(images[0], images[1] if self.needs_gt else None, names)
            except ValueError as err:
                raise ValueError(f'{type(self).__name__}: sample {key!r}: {err}') from err
            self.results.append({'key': key, self.name: value})

    def compute_metrics(self, results):
        """The mean of the per-image values (PSNR: inf if any image equals its ground truth)."""
        self.per_image = [dict(r) for r in results]
        return {self.name: float(np.mean([r[self.name] for r in results]))}
