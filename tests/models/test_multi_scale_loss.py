"""FFTLoss, EdgeLoss and the Gaussian pyramid against written-out maths; MultiScaleLoss matches each
output to its pyramid level; ImageRestorer trains an arch's forward_stages through it."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.models.losses import (CharbonnierLoss, EdgeLoss, FFTLoss, L1Loss, MultiScaleLoss,
                                      gaussian_pyramid, pyramid_down)
from restorelab.models.restorers import ImageRestorer
from restorelab.registry import MODELS
from restorelab.structures import DataSample


def test_fft_loss_is_the_mean_modulus_of_the_dft_difference():
    gen = torch.Generator().manual_seed(0)
    pred, target = (torch.rand(2, 3, 4, 5, generator=gen, dtype=torch.float64) for _ in range(2))
    d = (pred - target).numpy()
    # The DFT written out: X[u, v] = sum_{y, x} d[y, x] exp(-2 pi i (u y / H + v x / W)).
    h, w = d.shape[-2:]
    total = 0.0
    for u in range(h):
        for v in range(w):
            phase = [[math.tau * (u * y / h + v * x / w) for x in range(w)] for y in range(h)]
            re = sum(d[..., y, x] * math.cos(phase[y][x]) for y in range(h) for x in range(w))
            im = sum(-d[..., y, x] * math.sin(phase[y][x]) for y in range(h) for x in range(w))
            total += (re ** 2 + im ** 2) ** 0.5
    expected = total.sum() / d.size
    assert FFTLoss()(pred, target).item() == pytest.approx(expected, rel=1e-12)
    assert FFTLoss(loss_weight=0.01)(pred, target).item() == pytest.approx(0.01 * expected, rel=1e-12)
    # A constant offset c lives in the DC term only: |H W c| at one of H W frequencies.
    assert FFTLoss()(target + 0.5, target).item() == pytest.approx(0.5, rel=1e-12)


def test_pyramid_down_is_a_binomial_blur_then_2x2_means():
    gen = torch.Generator().manual_seed(1)
    img = torch.rand(1, 2, 8, 6, generator=gen, dtype=torch.float64)
    taps = torch.tensor([1, 4, 6, 4, 1], dtype=torch.float64) / 16
    padded = F.pad(img, (2, 2, 2, 2), mode='reflect')  # mirror without repeating the edge
    assert torch.equal(padded[..., 2, 0], img[..., 0, 2]) and torch.equal(padded[..., 0, 2], img[..., 2, 0])
    blurred = torch.zeros_like(img)
    for dy in range(5):
        for dx in range(5):
            blurred += taps[dy] * taps[dx] * padded[..., dy:dy + 8, dx:dx + 6]
    expected = blurred.reshape(1, 2, 4, 2, 3, 2).mean(dim=(3, 5))
    torch.testing.assert_close(pyramid_down(img), expected, rtol=0, atol=1e-14)
    levels = gaussian_pyramid(img, 3)
    assert [tuple(t.shape[-2:]) for t in levels] == [(8, 6), (4, 3), (2, 1)]
    assert levels[0] is img and torch.equal(levels[2], pyramid_down(levels[1]))
    flat = torch.full((1, 3, 16, 16), 0.3, dtype=torch.float64)
    torch.testing.assert_close(pyramid_down(flat), flat[..., :8, :8], rtol=0, atol=1e-15)


def test_edge_loss_against_the_laplacian_written_out():
    gen = torch.Generator().manual_seed(2)
    pred, target = (torch.rand(1, 3, 8, 8, generator=gen, dtype=torch.float64) for _ in range(2))
    k = torch.tensor([.05, .25, .4, .25, .05], dtype=torch.float32)
    kernel = (k[:, None] @ k[None, :]).double().expand(3, 1, 5, 5)

    def blur(t):
        return F.conv2d(F.pad(t, (2, 2, 2, 2), mode='replicate'), kernel, groups=3)

    def laplacian(t):
        b = blur(t)
        up = torch.zeros_like(b)
        up[..., ::2, ::2] = 4 * b[..., ::2, ::2]
        return t - blur(up)

    diff = laplacian(pred) - laplacian(target)
    expected = torch.sqrt(diff * diff + 1e-6).mean()
    assert EdgeLoss()(pred, target).item() == pytest.approx(expected.item(), rel=1e-12)


def release_terms():
    return [dict(outputs=[0, 1, 2], loss=dict(type='CharbonnierLoss')),
            dict(outputs=[0, 1, 2], loss=dict(type='FFTLoss', loss_weight=0.01)),
            dict(outputs=[0, 1, 2], loss=dict(type='EdgeLoss', loss_weight=0.05)),
            dict(outputs=[3, 4], loss=dict(type='L1Loss', loss_weight=0.1))]


def test_multi_scale_loss_compares_each_output_with_its_level():
    gen = torch.Generator().manual_seed(3)
    target = torch.rand(2, 3, 16, 16, generator=gen, dtype=torch.float64)
    sizes = [16, 8, 4, 8, 4]
    preds = [torch.rand(2, 3, s, s, generator=gen, dtype=torch.float64) for s in sizes]
    loss = MODELS.build(dict(type='MultiScaleLoss', num_levels=3, terms=release_terms()))
    t0 = target
    t1 = pyramid_down(t0)
    t2 = pyramid_down(t1)
    levels = [t0, t1, t2, t1, t2]
    char, fft, edge, l1 = CharbonnierLoss(), FFTLoss(), EdgeLoss(), L1Loss()
    expected = sum(char(preds[i], levels[i]) + 0.01 * fft(preds[i], levels[i]) + 0.05 * edge(preds[i], levels[i])
                   for i in range(3)) + 0.1 * (l1(preds[3], t1) + l1(preds[4], t2))
    assert loss(preds, target).item() == pytest.approx(expected.item(), rel=1e-12)
    assert loss.takes_stage_outputs is True


def test_multi_scale_loss_errors():
    target = torch.rand(1, 3, 16, 16)
    loss = MultiScaleLoss([dict(outputs=[0, 1], loss=dict(type='L1Loss'))], num_levels=2)
    with pytest.raises(ValueError, match='output 1 is 4x4, but the target pyramid\'s levels are 16x16, 8x8'):
        loss([target, torch.rand(1, 3, 4, 4)], target)
    with pytest.raises(ValueError, match='uses output 1, but the arch gave 1'):
        loss([target], target)
    with pytest.raises(TypeError, match='expected a non-empty list of outputs'):
        loss(target, target)
    for bad in ([], [dict(outputs=[0])], [dict(outputs=[], loss=dict(type='L1Loss'))],
                [dict(outputs=[-1], loss=dict(type='L1Loss'))]):
        with pytest.raises(ValueError, match='MultiScaleLoss'):
            MultiScaleLoss(bad)
    with pytest.raises(ValueError, match='num_levels must be an int >= 1'):
        MultiScaleLoss(release_terms(), num_levels=0)
    with pytest.raises(ValueError, match='compares one output with one target'):
        MultiScaleLoss([dict(outputs=[0], loss=MultiScaleLoss(release_terms()))])


class TwoScaleArch(nn.Module):
    """A half-size side output, then the output conv(x) + x (the final output last)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward_stages(self, x):
        out = self.conv(x) + x
        return [F.avg_pool2d(out, 2), out]

    def forward(self, x):
        return self.forward_stages(x)[-1]


def test_restorer_trains_forward_stages_through_a_stage_loss():
    arch = TwoScaleArch()
    loss = MultiScaleLoss([dict(outputs=[0, 1], loss=dict(type='L1Loss'))], num_levels=2)
    restorer = ImageRestorer(arch=arch, pixel_loss=loss)
    x, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    samples = [DataSample(gt_img=g) for g in gt]
    losses = restorer(x, samples, mode='loss')
    stages = arch.forward_stages(x)
    expected = L1Loss()(stages[1], gt) + L1Loss()(stages[0], pyramid_down(gt))
    torch.testing.assert_close(losses['loss_pix'], expected)
    losses['loss_pix'].backward()
    assert arch.conv.weight.grad is not None
    # A stage loss with an arch that has no forward_stages: a clear error.
    plain = ImageRestorer(arch=nn.Conv2d(3, 3, 1), pixel_loss=loss)
    with pytest.raises(ValueError, match=r'has no forward_stages\(\); use a loss of the final output'):
        plain(x, samples, mode='loss')
    # A loss of one output still trains arch(x) only.
    single = ImageRestorer(arch=arch, pixel_loss=dict(type='L1Loss'))
    torch.testing.assert_close(single(x, samples, mode='loss')['loss_pix'], L1Loss()(arch(x), gt))
