"""Packing numpy images into the tensors and DataSample the model consumes."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from restorelab.registry import TRANSFORMS
from restorelab.structures import DataSample


def image_to_tensor(img, name='image'):
    """``(H, W, 3)`` uint8 / uint16 / float array -> ``(3, H, W)`` float32 tensor in [0, 1].

    uint8 is divided by 255 and uint16 by 65535 in float32, so a uint8 value ``v`` becomes
    exactly ``np.float32(v / 255)``; floating arrays are taken as already in [0, 1].
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{name}: expected an (H, W, 3) RGB array, got shape {img.shape}')
    arr = np.ascontiguousarray(img.transpose(2, 0, 1))
    if arr.dtype == np.uint8:
        return torch.from_numpy(arr).to(torch.float32) / 255
    if arr.dtype == np.uint16:
        return torch.from_numpy(arr.astype(np.int32)).to(torch.float32) / 65535
    if np.issubdtype(arr.dtype, np.floating):
        return torch.from_numpy(arr.astype(np.float32))
    raise TypeError(f'{name}: pixel type {arr.dtype} is not uint8, uint16 or float')


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack ``results['img']`` (and ``results['gt']`` when present) for the model.

    Returns ``dict(inputs=(3, H, W) float32 tensor in [0, 1], data_samples=DataSample)``;
    the sample holds ``gt_img`` (same form) and the metainfo listed in ``meta_keys`` that the
    results carry (``img_path``, ``gt_path``, ``key``, ``ori_shape``, ``bit_depth``).

    Raises:
        ValueError: when ``img`` and ``gt`` differ in size (naming both files).
    """

    def __init__(self, meta_keys=('img_path', 'gt_path', 'key', 'ori_shape', 'bit_depth')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results):
        if 'img' not in results:
            raise KeyError(f'PackInputs: no "img" in the results (have {sorted(results)}); '
                           'the pipeline must load it first with LoadImageFromFile')
        img = results['img']
        inputs = image_to_tensor(img, f'img {results.get("img_path")!r}')
        sample = DataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt' in results:
            gt = results['gt']
            if gt.shape[:2] != img.shape[:2]:
                raise ValueError(
                    f'PackInputs: the rainy image {results.get("img_path")!r} is '
                    f'{img.shape[:2]} (H, W) but its ground truth {results.get("gt_path")!r} is '
                    f'{gt.shape[:2]}; a pair must have equal sizes. Check the pairing or files.')
            sample.gt_img = image_to_tensor(gt, f'gt {results.get("gt_path")!r}')
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
