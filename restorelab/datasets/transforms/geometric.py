"""Random crops, flips and rotations applied identically to every image of a pair.

All randomness comes from numpy's global generator (as in mmcv's transforms), which
mmengine seeds per process and per dataloader worker with ``randomness=dict(seed=...)``:
runs with the same seed see the same crops and flips.
"""
import math

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from restorelab.registry import TRANSFORMS


def _check_keys(owner, keys, results):
    missing = [k for k in keys if k not in results]
    if missing:
        raise KeyError(f'{owner}: keys {missing} are not in the results (have {sorted(results)}); '
                       'load them first with LoadImageFromFile(key=...), or set keys=...')


def _check_same_size(owner, keys, results):
    """Rain and gt must cover the same pixels; name both files and shapes when they do not."""
    ref = keys[0]
    for k in keys[1:]:
        if results[k].shape[:2] != results[ref].shape[:2]:
            raise ValueError(
                f'{owner}: {ref!r} and {k!r} differ in size: {results.get(f"{ref}_path")!r} is '
                f'{results[ref].shape[:2]} (H, W) and {results.get(f"{k}_path")!r} is '
                f'{results[k].shape[:2]}. A rainy image and its ground truth must have equal '
                'sizes; check the pairing or the files.')


class _PairedTransform(BaseTransform):
    def __init__(self, keys=('img', 'gt')):
        if isinstance(keys, str):
            keys = (keys,)
        keys = tuple(keys)
        if not keys:
            raise ValueError(f'{type(self).__name__}: keys must name at least one image')
        self.keys = keys

    def _present(self, results):
        _check_keys(type(self).__name__, self.keys, results)
        return self.keys


@TRANSFORMS.register_module()
class PairedRandomCrop(_PairedTransform):
    """Crop the same random ``patch_size`` window from every image in ``keys``.

    An image smaller than the patch is first padded at the bottom and right by mirror
    reflection that repeats the edge pixel (``np.pad(mode='symmetric')``, i.e. OpenCV's
    ``BORDER_REFLECT``, as the Restormer/DRSformer training code pads), so every crop
    is exactly ``patch_size``.

    Args:
        patch_size (int | tuple[int, int]): ``(H, W)`` of the crop; an int means square.
        keys (tuple[str]): the images to crop together, default ``('img', 'gt')``.

    Raises:
        ValueError: when the images differ in size, naming both files and shapes.
    """

    def __init__(self, patch_size, keys=('img', 'gt')):
        super().__init__(keys)
        if isinstance(patch_size, int):
            patch_size = (patch_size, patch_size)
        patch_size = tuple(int(p) for p in patch_size)
        if len(patch_size) != 2 or min(patch_size) < 1:
            raise ValueError(f'PairedRandomCrop: patch_size must be a positive int or (H, W), '
                             f'got {patch_size}')
        self.patch_size = patch_size

    def transform(self, results):
        keys = self._present(results)
        _check_same_size(type(self).__name__, keys, results)
        ph, pw = self.patch_size
        h, w = results[keys[0]].shape[:2]
        pad_h, pad_w = max(ph - h, 0), max(pw - w, 0)
        if pad_h or pad_w:
            for k in keys:
                results[k] = np.pad(results[k], ((0, pad_h), (0, pad_w), (0, 0)), mode='symmetric')
            h, w = h + pad_h, w + pad_w
        top = np.random.randint(0, h - ph + 1)
        left = np.random.randint(0, w - pw + 1)
        for k in keys:
            results[k] = results[k][top:top + ph, left:left + pw]
        results['crop_bbox'] = (top, left, ph, pw)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(patch_size={self.patch_size}, keys={self.keys})'


@TRANSFORMS.register_module()
class PairedRandomFlip(_PairedTransform):
    """With probability ``prob``, flip every image in ``keys`` left-right ('horizontal') or
    upside down ('vertical')."""

    def __init__(self, prob=0.5, direction='horizontal', keys=('img', 'gt')):
        super().__init__(keys)
        if not 0 <= prob <= 1:
            raise ValueError(f'PairedRandomFlip: prob must lie in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"PairedRandomFlip: direction must be 'horizontal' or 'vertical', "
                             f'got {direction!r}')
        self.prob = prob
        self.direction = direction

    def transform(self, results):
        keys = self._present(results)
        flip = bool(np.random.rand() < self.prob)
        if flip:
            axis = 1 if self.direction == 'horizontal' else 0
            for k in keys:
                results[k] = np.flip(results[k], axis=axis)
        results.setdefault('flip', []).append(self.direction if flip else None)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r}, '
                f'keys={self.keys})')


@TRANSFORMS.register_module()
class PairedRandomRot90(_PairedTransform):
    """Rotate every image in ``keys`` by ``k`` x 90 degrees counter-clockwise (``np.rot90``),
    ``k`` drawn uniformly from ``ks``.

    Followed by ``PairedRandomFlip(prob=0.5, direction='vertical')`` this draws the 8
    rotations/reflections of the square uniformly, rotation first and flip second: the
    distribution of Restormer's and DRSformer's ``random_augmentation`` (``geometric_augs``).
    """

    def __init__(self, ks=(0, 1, 2, 3), keys=('img', 'gt')):
        super().__init__(keys)
        ks = tuple(int(k) for k in ks)
        if not ks or any(k not in (0, 1, 2, 3) for k in ks):
            raise ValueError(f'PairedRandomRot90: ks must be a non-empty subset of (0, 1, 2, 3), '
                             f'got {ks}')
        self.ks = ks

    def transform(self, results):
        keys = self._present(results)
        k = self.ks[np.random.randint(len(self.ks))]
        if k:
            for key in keys:
                results[key] = np.rot90(results[key], k, axes=(0, 1))
        results['rot90'] = k
        return results

    def __repr__(self):
        return f'{type(self).__name__}(ks={self.ks}, keys={self.keys})'


@TRANSFORMS.register_module()
class PairedRandomTranspose(_PairedTransform):
    """With probability ``prob``, swap height and width of every image in ``keys``.

    With ``PairedRandomFlip`` horizontal and vertical (each p=0.5) this is BasicSR's
    ``augment(hflip=True, rotation=True)``: again the 8 rotations/reflections, uniformly.
    """

    def __init__(self, prob=0.5, keys=('img', 'gt')):
        super().__init__(keys)
        if not 0 <= prob <= 1:
            raise ValueError(f'PairedRandomTranspose: prob must lie in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results):
        keys = self._present(results)
        do = bool(np.random.rand() < self.prob)
        if do:
            for k in keys:
                results[k] = results[k].transpose(1, 0, 2)
        results['transpose'] = do
        return results

    def __repr__(self):
        return f'{type(self).__name__}(prob={self.prob}, keys={self.keys})'


@TRANSFORMS.register_module()
class PairedRandomResizedCrop(_PairedTransform):
    """Crop the same random window from every image in ``keys`` and resize it to ``size``:
    the RandomResizedCrop of SPANet's release (its ``randomcrop.py``, after torchvision's).

    Up to 10 tries: an area fraction ``s`` drawn from U(``scale``) and an aspect ratio ``r``
    from U(``ratio``) give ``w = round(sqrt(s * H * W * r))`` and ``h = round(sqrt(s * H * W /
    r))``, swapped with probability 0.5; the first that fits is placed uniformly at random.
    When none fits, the central square of side ``min(H, W)``. The window is resized with
    Pillow's bicubic filter (as the release resizes its PIL images), each image on its own.

    Args:
        size (int | tuple[int, int]): ``(H, W)`` of the output; an int means square.
        scale (tuple[float, float]): range of the window's area as a fraction of the image's
            (the release's (0.8, 1)).
        ratio (tuple[float, float]): range of the window's width / height (3/4, 4/3).
        keys (tuple[str]): the images to crop together, uint8 ``(H, W, C)``; default
            ``('img', 'gt')``.

    Raises:
        ValueError: when the images differ in size, naming both files and shapes, or are not
            uint8.
    """

    def __init__(self, size, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3), keys=('img', 'gt')):
        super().__init__(keys)
        if isinstance(size, int):
            size = (size, size)
        size = tuple(int(v) for v in size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'PairedRandomResizedCrop: size must be a positive int or (H, W), '
                             f'got {size}')
        scale, ratio = tuple(float(v) for v in scale), tuple(float(v) for v in ratio)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'PairedRandomResizedCrop: scale must be (low, high) with '
                             f'0 < low <= high <= 1, got {scale}')
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f'PairedRandomResizedCrop: ratio must be (low, high) with '
                             f'0 < low <= high, got {ratio}')
        self.size, self.scale, self.ratio = size, scale, ratio

    def window(self, height, width):
        """``(top, left, h, w)`` of a random window of a ``height x width`` image."""
        area = height * width
        for _ in range(10):
            target_area = np.random.uniform(*self.scale) * area
            aspect_ratio = np.random.uniform(*self.ratio)
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if np.random.rand() < 0.5:
                w, h = h, w
            if w <= width and h <= height:
                return np.random.randint(0, height - h + 1), np.random.randint(0, width - w + 1), h, w
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side

    def transform(self, results):
        keys = self._present(results)
        _check_same_size(type(self).__name__, keys, results)
        for k in keys:
            if results[k].dtype != np.uint8 or results[k].ndim != 3:
                raise ValueError(f'PairedRandomResizedCrop: {k!r} ({results.get(f"{k}_path")!r}) '
                                 f'must be a uint8 (H, W, C) image, got {results[k].dtype} of '
                                 f'shape {results[k].shape}')
        top, left, h, w = self.window(*results[keys[0]].shape[:2])
        out_h, out_w = self.size
        for k in keys:
            channels = [Image.fromarray(np.ascontiguousarray(results[k][top:top + h, left:left + w, c]))
                        .resize((out_w, out_h), Image.BICUBIC) for c in range(results[k].shape[2])]
            results[k] = np.stack([np.asarray(c) for c in channels], axis=2)
        results['crop_bbox'] = (top, left, h, w)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio}, '
                f'keys={self.keys})')
