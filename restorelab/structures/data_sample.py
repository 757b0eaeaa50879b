"""The sample record that travels from the dataset to the metrics."""
from mmengine.structures import BaseDataElement


class DataSample(BaseDataElement):
    """One image's record.

    Data fields (tensors, ``(3, H, W)`` float32 RGB in [0, 1]):
        gt_img: the ground truth, when the dataset has one.
        pred_img: the restored image, set by the restorer in ``predict`` mode.
    Metainfo (plain values): ``img_path``, ``gt_path`` (when paired), ``key``
    (a name unique in its dataset, used for saved results), ``ori_shape``
    (``(H, W)`` of the loaded input) and ``bit_depth`` (8 or 16).
    """
