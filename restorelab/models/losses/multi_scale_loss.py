"""Losses on several outputs of one arch, each against the level of a Gaussian pyramid of the
target that has its size: the supervision of multi-scale archs (NeRD-Rain's three scale outputs and
two INR outputs, for instance).

Such an arch defines ``forward_stages(inputs) -> [out_0, ..., out_S]`` (``forward`` returns the
last, the final output); ``ImageRestorer`` passes that list to a loss whose ``takes_stage_outputs``
is True.
"""
import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

# The 5-tap binomial filter (1, 4, 6, 4, 1) / 16 of Burt and Adelson's pyramid.
BINOMIAL_TAPS = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def pyramid_down(img):
    """One level down a Gaussian pyramid, as kornia's ``pyrdown`` (0.7, which the NeRD-Rain release
    uses): the 5x5 binomial blur with 'reflect' borders, then bilinear resampling (align_corners
    False) to ``(H // 2, W // 2)`` (for even sides: the mean of each 2x2 block)."""
    n, c, h, w = img.shape
    taps = torch.tensor(BINOMIAL_TAPS, dtype=img.dtype, device=img.device)
    kernel = (taps[:, None] * taps[None, :]).expand(c, 1, 5, 5)
    blurred = F.conv2d(F.pad(img, (2, 2, 2, 2), mode='reflect'), kernel, groups=c)
    return F.interpolate(blurred, size=(h // 2, w // 2), mode='bilinear', align_corners=False)


def gaussian_pyramid(img, num_levels):
    """``[img, pyramid_down(img), ...]``, ``num_levels`` images (kornia's ``build_pyramid``)."""
    levels = [img]
    for _ in range(num_levels - 1):
        levels.append(pyramid_down(levels[-1]))
    return levels


@MODELS.register_module()
class MultiScaleLoss(nn.Module):
    """``sum over terms, sum over the term's outputs i of loss(out_i, level of out_i's size)``.

    Args:
        terms: a list of ``dict(outputs=[i, ...], loss=<loss config or module>)``: the indices of
            ``forward_stages``' outputs the loss is applied to (its ``loss_weight`` weighs it).
        num_levels: levels of the target's Gaussian pyramid (:func:`gaussian_pyramid`); each output
            is compared with the level of its height and width (an error if none has it).

    NeRD-Rain's loss (release train.py; its forward_stages are [S1 INR, S2 INR, S1, S2, S3])::

        dict(type='MultiScaleLoss', num_levels=3, terms=[
            dict(outputs=[2, 3, 4], loss=dict(type='CharbonnierLoss')),
            dict(outputs=[2, 3, 4], loss=dict(type='FFTLoss', loss_weight=0.01)),
            dict(outputs=[2, 3, 4], loss=dict(type='EdgeLoss', loss_weight=0.05)),
            dict(outputs=[0, 1], loss=dict(type='L1Loss', loss_weight=0.1))])
    """

    takes_stage_outputs = True

    def __init__(self, terms, num_levels=3):
        super().__init__()
        if not isinstance(num_levels, numbers.Integral) or isinstance(num_levels, bool) or num_levels < 1:
            raise ValueError(f'MultiScaleLoss: num_levels must be an int >= 1, got {num_levels!r}')
        if not isinstance(terms, (list, tuple)) or not terms:
            raise ValueError(f'MultiScaleLoss: terms must be a non-empty list of dict(outputs=[...], '
                             f'loss=...), got {terms!r}')
        losses, outputs = [], []
        for term in terms:
            if not isinstance(term, dict) or set(term) != {'outputs', 'loss'}:
                raise ValueError(f'MultiScaleLoss: each term is dict(outputs=[...], loss=...), got {term!r}')
            indices = term['outputs']
            if not (isinstance(indices, (list, tuple)) and indices and all(
                    isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 0 for i in indices)):
                raise ValueError(f'MultiScaleLoss: outputs must be a non-empty list of output indices '
                                 f'(ints >= 0), got {indices!r}')
            loss = term['loss'] if isinstance(term['loss'], nn.Module) else MODELS.build(term['loss'])
            if getattr(loss, 'takes_stage_outputs', False):
                raise ValueError(f'MultiScaleLoss: a term\'s loss compares one output with one target, '
                                 f'got another {type(loss).__name__}')
            losses.append(loss)
            outputs.append([int(i) for i in indices])
        self.losses = nn.ModuleList(losses)
        self.outputs = outputs
        self.num_levels = int(num_levels)

    def forward(self, preds, target):
        """``preds``: the list of ``(N, C, h_i, w_i)`` outputs; ``target``: ``(N, C, H, W)``."""
        if not isinstance(preds, (list, tuple)) or not preds:
            raise TypeError(f'MultiScaleLoss: expected a non-empty list of outputs, got {type(preds).__name__}')
        needed = max(max(indices) for indices in self.outputs)
        if needed >= len(preds):
            raise ValueError(f'MultiScaleLoss: a term uses output {needed}, but the arch gave {len(preds)} '
                             'outputs (forward_stages)')
        pyramid = {tuple(level.shape[-2:]): level for level in gaussian_pyramid(target, self.num_levels)}
        total = 0
        for loss, indices in zip(self.losses, self.outputs):
            for i in indices:
                size = tuple(preds[i].shape[-2:])
                if size not in pyramid:
                    raise ValueError(
                        f'MultiScaleLoss: output {i} is {size[0]}x{size[1]}, but the target pyramid\'s '
                        f'levels are {", ".join(f"{h}x{w}" for h, w in pyramid)}; check num_levels')
                total = total + loss(preds[i], pyramid[size])
        return total

    def extra_repr(self):
        return f'num_levels={self.num_levels}, outputs={self.outputs}'
