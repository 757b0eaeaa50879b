"""BRISQUE as an mmengine metric, for real rain without ground truth."""
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from restorelab.registry import METRICS

from ..functional import float_to_uint8
from ..functional.brisque import brisque, load_brisque_params
from .psnr_ssim import _sample_key, _to_hwc_numpy


@METRICS.register_module()
class BRISQUE(BaseMetric):
    """Mean BRISQUE (lower is better) of the ``pred_img`` of each sample; no ground truth used.

    Args:
        params_file: the SVR model: the folder of the LIVE release holding
            ``allmodel`` and ``allrange``, the ``allmodel`` file itself, or an
            ``.npz``; see ``functional.brisque``.
        range_file: the svm-scale range file when it is not ``allrange``
            beside the model.
        convert_to: 'gray' (MATLAB rgb2gray, as the release) or 'y' (rgb2ycbcr luma).
        crop_border: pixels removed from each edge.
        prefix: the test set name, prepended to the key ``BRISQUE``.
    """

    def __init__(self, params_file, range_file=None, convert_to='gray', crop_border=0,
                 prefix=None, collect_device='cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.params = load_brisque_params(params_file, range_file)
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
                raise ValueError(f'BRISQUE: sample {key!r} has no pred_img (is the model in '
                                 'predict mode?)')
            img = float_to_uint8(_to_hwc_numpy(sample['pred_img'], 'pred_img', key))
            try:
                value = brisque(img, self.params, self.convert_to, self.crop_border)
            except ValueError as err:
                raise ValueError(f'BRISQUE: sample {key!r}: {err}') from err
            self.results.append({'key': key, 'brisque': value})

    def compute_metrics(self, results):
        self.per_image = [dict(r) for r in results]
        return {'BRISQUE': float(np.mean([r['brisque'] for r in results]))}
