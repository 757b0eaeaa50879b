"""Batching of packed samples for restorers: RGB float32 in [0, 1] on the model's device."""
import torch
from mmengine.model import BaseDataPreprocessor

from restorelab.registry import MODELS


def _check_image(img, what):
    """Raise a clear error unless ``img`` is a float32 tensor in [0, 1] of shape (3, H, W)/(N, 3, H, W)."""
    if not torch.is_tensor(img):
        raise TypeError(f'{what} must be a torch.Tensor, got {type(img).__name__}; '
                        'pack samples with PackInputs')
    if img.dtype != torch.float32:
        raise TypeError(
            f'{what} has dtype {img.dtype}; expected torch.float32 in [0, 1] '
            '(PackInputs scales 8-/16-bit images to float32 in [0, 1])')
    if img.dim() < 3 or img.shape[-3] != 3:
        raise ValueError(f'{what} has shape {tuple(img.shape)}; expected (3, H, W) RGB')
    if img.numel() == 0:
        raise ValueError(f'{what} is empty: shape {tuple(img.shape)}')
    lo, hi = torch.aminmax(img)
    lo, hi = lo.item(), hi.item()
    # NaN fails both comparisons, so it is reported here too.
    if not (lo >= 0.0 and hi <= 1.0):
        raise ValueError(
            f'{what} has values in [{lo}, {hi}]; expected [0, 1] (a uint8 image divided by 255, '
            'a uint16 one by 65535; PackInputs does this)')


def stack_gt(data_samples, like=None):
    """Stack the ``gt_img`` of every sample into ``(N, 3, H, W)``.

    Raises a ValueError when a sample has no ``gt_img`` or (with ``like``, the
    ``(N, 3, H, W)`` input batch) when a ground truth's size differs from its input's.
    """
    if not data_samples:
        raise ValueError('no data_samples given: the loss needs each sample\'s gt_img')
    gts = []
    for i, sample in enumerate(data_samples):
        if 'gt_img' not in sample:
            key = sample.metainfo.get('key', sample.metainfo.get('img_path', f'#{i}'))
            raise ValueError(f'sample {key} has no gt_img; training needs a paired dataset')
        gts.append(sample.gt_img)
    shapes = {tuple(g.shape) for g in gts}
    if len(shapes) > 1:
        raise ValueError(f'ground truths of one batch differ in size: {sorted(shapes)}')
    gt = torch.stack(gts)
    if like is not None and gt.shape != like.shape:
        raise ValueError(f'ground truth batch {tuple(gt.shape)} does not match the input batch '
                         f'{tuple(like.shape)}; rain and ground truth must have the same size')
    return gt


@MODELS.register_module()
class RestorationDataPreprocessor(BaseDataPreprocessor):
    """Turn a packed batch into the restorer's input.

    Takes ``dict(inputs=[(3, H, W) float32 in [0, 1], ...], data_samples=[DataSample, ...])``
    (``inputs`` may also be one ``(N, 3, H, W)`` tensor) and returns
    ``dict(inputs=(N, 3, H, W) float32, data_samples=[...])`` on the model's device,
    each ``gt_img`` checked against its input's size. The restorer stacks the
    ground truths with :func:`stack_gt` when it computes the loss.
    """

    def forward(self, data, training=False):
        if not isinstance(data, dict) or 'inputs' not in data:
            raise TypeError('RestorationDataPreprocessor expects dict(inputs=..., data_samples=...), '
                            f'got {type(data).__name__}')
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples = data.get('data_samples')
        if torch.is_tensor(inputs):
            if inputs.dim() != 4:
                raise ValueError(f'inputs tensor has shape {tuple(inputs.shape)}; expected (N, 3, H, W)')
            _check_image(inputs, 'inputs')
            batch = inputs
        else:
            inputs = list(inputs)
            if not inputs:
                raise ValueError('empty batch: inputs is an empty list')
            for i, img in enumerate(inputs):
                _check_image(img, f'inputs[{i}]{_describe(data_samples, i)}')
                if img.dim() != 3:
                    raise ValueError(f'inputs[{i}] has shape {tuple(img.shape)}; expected (3, H, W)')
            sizes = [tuple(img.shape[-2:]) for img in inputs]
            if len(set(sizes)) > 1:
                raise ValueError(
                    f'images of one batch differ in size (H, W): {sizes}; they cannot be stacked. '
                    'Use batch_size=1 for validation/testing on full images, or crop training '
                    'images to one patch size')
            batch = torch.stack(inputs)
        if data_samples is not None:
            if len(data_samples) != batch.shape[0]:
                raise ValueError(f'{batch.shape[0]} inputs but {len(data_samples)} data_samples')
            for i, sample in enumerate(data_samples):
                if 'gt_img' in sample:
                    gt = sample.gt_img
                    _check_image(gt, f'gt_img of sample {i}{_describe(data_samples, i)}')
                    if tuple(gt.shape) != tuple(batch.shape[1:]):
                        raise ValueError(
                            f'gt_img of sample {i}{_describe(data_samples, i)} has shape '
                            f'{tuple(gt.shape)} but its input has {tuple(batch.shape[1:])}; rain and '
                            'ground truth must have the same size')
        return dict(inputs=batch, data_samples=data_samples)


def _describe(data_samples, i):
    if data_samples is None or i >= len(data_samples):
        return ''
    meta = data_samples[i].metainfo
    name = meta.get('img_path', meta.get('key'))
    return f' ({name})' if name else ''
