"""NIQE and BRISQUE as mmengine metrics, for real rain without ground truth."""
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from restorelab.registry import METRICS

from ..functional import check_quantize, float_to_uint8
from ..functional.brisque import brisque, load_brisque_params
from ..functional.niqe import load_niqe_params, niqe
from .psnr_ssim import _sample_key, _to_hwc_numpy


class _NoReferenceMetric(BaseMetric):
    """Mean over images of a no-reference score of each sample's ``pred_img``.

    The prediction is quantised to 8 bits (``quantize``: 'round' or 'truncate') and
    scored by :meth:`score`; per-image values are kept in ``self.per_image`` after
    ``evaluate``. Subclasses set ``metric`` (the result key, lower case) and ``score``.
    """

    metric = None

    def __init__(self, convert_to, crop_border=0, quantize='round', prefix=None,
                 collect_device='cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if convert_to not in ('y', 'gray'):
            raise ValueError(f"{type(self).__name__}: convert_to must be 'y' or 'gray', got "
                             f'{convert_to!r}')
        self.convert_to = convert_to
        self.crop_border = crop_border
        self.quantize = check_quantize(quantize)
        self.per_image = []

    def score(self, img):
        """The metric of one ``(H, W, 3)`` uint8 RGB image."""
        raise NotImplementedError

    def process(self, data_batch, data_samples):
        name = type(self).__name__
        for index, sample in enumerate(data_samples):
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            key = _sample_key(sample, len(self.results) + index)
            if sample.get('pred_img') is None:
                raise ValueError(f'{name}: sample {key!r} has no pred_img (is the model in '
                                 'predict mode?)')
            img = float_to_uint8(_to_hwc_numpy(sample['pred_img'], 'pred_img', key),
                                 self.quantize)
            try:
                value = self.score(img)
            except ValueError as err:
                raise ValueError(f'{name}: sample {key!r}: {err}') from err
            self.results.append({'key': key, self.metric: value})

    def compute_metrics(self, results):
        self.per_image = [dict(r) for r in results]
        return {self.metric.upper(): float(np.mean([r[self.metric] for r in results]))}


@METRICS.register_module()
class NIQE(_NoReferenceMetric):
    """Mean NIQE (lower is better) of the ``pred_img`` of each sample; no ground truth used.

    Args:
        params_file: the pristine model, ``modelparameters.mat`` of the
            official release or an ``.npz`` (``mu_pris_param``,
            ``cov_pris_param``); see ``functional.niqe``.
        convert_to: 'y' (rgb2ycbcr luma, BasicSR's choice) or 'gray' (rgb2gray).
        crop_border: pixels removed from each edge.
        quantize: how the prediction becomes 8 bits, 'round' or 'truncate'.
        prefix: the test set name, prepended to the key ``NIQE``.
    """

    metric = 'niqe'

    def __init__(self, params_file, convert_to='y', crop_border=0, quantize='round',
                 prefix=None, collect_device='cpu'):
        super().__init__(convert_to, crop_border, quantize, prefix, collect_device)
        self.mu, self.cov = load_niqe_params(params_file)

    def score(self, img):
        return niqe(img, self.mu, self.cov, self.convert_to, self.crop_border)


@METRICS.register_module()
class BRISQUE(_NoReferenceMetric):
    """Mean BRISQUE (lower is better) of the ``pred_img`` of each sample; no ground truth used.

    Args:
        params_file: the SVR model: the folder of the LIVE release holding
            ``allmodel`` and ``allrange``, the ``allmodel`` file itself, or an
            ``.npz``; see ``functional.brisque``.
        range_file: the svm-scale range file when it is not ``allrange``
            beside the model.
        convert_to: 'gray' (MATLAB rgb2gray, as the release) or 'y' (rgb2ycbcr luma).
        crop_border: pixels removed from each edge.
        quantize: how the prediction becomes 8 bits, 'round' or 'truncate'.
        prefix: the test set name, prepended to the key ``BRISQUE``.
    """

    metric = 'brisque'

    def __init__(self, params_file, range_file=None, convert_to='gray', crop_border=0,
                 quantize='round', prefix=None, collect_device='cpu'):
        super().__init__(convert_to, crop_border, quantize, prefix, collect_device)
        self.params = load_brisque_params(params_file, range_file)

    def score(self, img):
        return brisque(img, self.params, self.convert_to, self.crop_border)
