"""NIQE and BRISQUE as mmengine metrics, for real rain without ground truth."""
from restorelab.registry import METRICS

from ..functional.brisque import brisque, load_brisque_params
from ..functional.niqe import load_niqe_params, niqe
from .base import PerImageMetric


class _NoReferenceMetric(PerImageMetric):
    """A no-reference score (lower is better) of each sample's ``pred_img``; see
    :class:`PerImageMetric`."""

    needs_gt = False
    higher_is_better = False

    def __init__(self, convert_to, crop_border=0, quantize='round', prefix=None,
                 collect_device='cpu'):
        super().__init__(quantize=quantize, prefix=prefix, collect_device=collect_device)
        if convert_to not in ('y', 'gray'):
            raise ValueError(f"{type(self).__name__}: convert_to must be 'y' or 'gray', got "
                             f'{convert_to!r}')
        self.convert_to = convert_to
        self.crop_border = crop_border


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

    name = 'NIQE'

    def __init__(self, params_file, convert_to='y', crop_border=0, quantize='round',
                 prefix=None, collect_device='cpu'):
        super().__init__(convert_to, crop_border, quantize, prefix, collect_device)
        self.mu, self.cov = load_niqe_params(params_file)

    def score(self, pred, gt, names):
        return niqe(pred, self.mu, self.cov, self.convert_to, self.crop_border)


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

    name = 'BRISQUE'
    decimals = 3

    def __init__(self, params_file, range_file=None, convert_to='gray', crop_border=0,
                 quantize='round', prefix=None, collect_device='cpu'):
        super().__init__(convert_to, crop_border, quantize, prefix, collect_device)
        self.params = load_brisque_params(params_file, range_file)

    def score(self, pred, gt, names):
        return brisque(pred, self.params, self.convert_to, self.crop_border)
