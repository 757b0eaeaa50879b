"""NIQE as an mmengine metric, for real rain without ground truth."""
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from restorelab.registry import METRICS

from ..functional import float_to_uint8
from ..functional.niqe import load_niqe_params, niqe
from .psnr_ssim import _sample_key, _to_hwc_numpy


@METRICS.register_module()
class NIQE(BaseMetric):
    """Mean NIQE (lower is better) of the ``pred_img`` of each sample; no ground truth used.

    Args:
        params_file: the pristine model, ``modelparameters.mat`` of the
            official release or an ``.npz`` (``mu_pris_param``,
            ``cov_pris_param``); see ``functional.niqe``.
        convert_to: 'y' (rgb2ycbcr luma, BasicSR's choice) or 'gray' (rgb2gray).
        crop_border: pixels removed from each edge.
        prefix: the test set name, prepended to the key ``NIQE``.
    """

    def __init__(self, params_file, convert_to='y', crop_border=0, prefix=None,
                 collect_device='cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.mu, self.cov = load_niqe_params(params_file)
        if convert_to not in ('y', 'gray'):
            raise ValueError(f"convert_to must be 'y' or 'gray', got {convert_to!r}")
        self.convert_to = convert_to
        self.crop_border = crop_border
        self.per_image = []

    def process(self, data_batch, data_samples):
        for index, sample in enumerate(data_samples):
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            key = _sample_key(sample, len(self.results) + index)
            if sample.get('pred_img') is None:
                raise ValueError(f'NIQE: sample {key!r} has no pred_img (is the model in predict '
                                 'mode?)')
            img = float_to_uint8(_to_hwc_numpy(sample['pred_img'], 'pred_img', key))
            self.results.append({'key': key, 'niqe': niqe(img, self.mu, self.cov,
                                                          self.convert_to, self.crop_border)})

    def compute_metrics(self, results):
        self.per_image = [dict(r) for r in results]
        return {'NIQE': float(np.mean([r['niqe'] for r in results]))}
