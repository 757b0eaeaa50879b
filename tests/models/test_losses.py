"""Losses against closed forms and a float64 numpy SSIM reference."""
import math

import numpy as np
import pytest
import torch

from restorelab.models.losses import (CharbonnierLoss, L1Loss, MSELoss, MultiStageLoss,
                                      PSNRLoss, SSIMLoss, gaussian_window)
from restorelab.registry import MODELS

PRED = torch.zeros(1, 1, 2, 2)
TARGET = torch.tensor([[[[0.5, -1.0], [0.25, 2.0]]]])
MASK = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])


def test_l1_and_mse_reductions_and_weights():
    assert L1Loss()(PRED, TARGET).item() == 0.9375  # (0.5 + 1 + 0.25 + 2) / 4
    assert L1Loss(reduction='sum')(PRED, TARGET).item() == 3.75
    assert torch.equal(L1Loss(reduction='none')(PRED, TARGET), TARGET.abs())
    assert L1Loss(loss_weight=2.0)(PRED, TARGET).item() == 1.875
    assert L1Loss()(PRED, TARGET, weight=MASK).item() == 1.25  # (0.5 + 2) / 2
    assert L1Loss(reduction='sum')(PRED, TARGET, weight=MASK).item() == 2.5
    assert L1Loss()(PRED, TARGET, weight=torch.zeros_like(MASK)).item() == 0.0
    assert MSELoss()(PRED, TARGET).item() == 1.328125  # (0.25 + 1 + 0.0625 + 4) / 4
    assert MSELoss(reduction='sum', loss_weight=0.5)(PRED, TARGET).item() == 2.65625


def test_weight_broadcasts_over_channels():
    pred = torch.zeros(1, 3, 1, 2)
    target = torch.tensor([1.0, 3.0]).expand(1, 3, 1, 2)
    weight = torch.tensor([[[[1.0, 0.0]]]])  # (N, 1, H, W)
    assert L1Loss()(pred, target, weight=weight).item() == 1.0


def test_charbonnier_closed_form():
    # sqrt(d^2 + eps^2): d = 3, eps = 4 -> 5; d = 0 -> eps.
    pred = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[3.0, 0.0]]]])
    assert torch.equal(CharbonnierLoss(eps=4.0, reduction='none')(pred, target),
                       torch.tensor([[[[5.0, 4.0]]]]))
    assert CharbonnierLoss(eps=4.0)(pred, target).item() == 4.5
    # Default eps is 1e-3 (Restormer/DRSformer): a zero error costs eps.
    assert CharbonnierLoss()(pred, pred).item() == pytest.approx(1e-3, rel=1e-6)


def test_psnr_loss_per_image_closed_form():
    target = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    pred = target.clone()
    pred[0] += 0.125  # mse 1/64
    pred[1] -= 0.5  # mse 1/4
    expected = [10 * math.log10(1 / 64 + 1e-8), 10 * math.log10(0.25 + 1e-8)]
    per_image = PSNRLoss(reduction='none')(pred, target)
    assert per_image.shape == (2,)
    assert per_image.tolist() == pytest.approx(expected, abs=1e-5)
    assert PSNRLoss()(pred, target).item() == pytest.approx(sum(expected) / 2, abs=1e-5)
    assert PSNRLoss(loss_weight=0.5, reduction='sum')(pred, target).item() == pytest.approx(
        sum(expected) / 2, abs=1e-5)
    # toY: a grey offset c moves luma by c * (65.481 + 128.553 + 24.966) / 255 = c * 219 / 255.
    c = 0.125 * 219 / 255
    assert PSNRLoss(toY=True)(pred[:1], target[:1]).item() == pytest.approx(
        10 * math.log10(c * c + 1e-8), abs=1e-4)


def _ssim_numpy(a, b):
    """Float64 SSIM map of (C, H, W) arrays: 11x11 Gaussian (sigma 1.5), zero padding 5."""
    x = np.arange(11) - 5
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    g /= g.sum()
    win = np.outer(g, g)

    def blur(img):
        padded = np.pad(img, ((0, 0), (5, 5), (5, 5)))
        out = np.zeros_like(img)
        h, w = img.shape[1:]
        for i in range(11):
            for j in range(11):
                out += win[i, j] * padded[:, i:i + h, j:j + w]
        return out

    mu1, mu2 = blur(a), blur(b)
    s11 = blur(a * a) - mu1 ** 2
    s22 = blur(b * b) - mu2 ** 2
    s12 = blur(a * b) - mu1 * mu2
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))


def test_ssim_window_is_normalised_gaussian():
    win = gaussian_window()
    assert win.shape == (11, 11) and win.dtype == torch.float32
    assert win.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert win[5, 5].item() == pytest.approx(1 / (2 * math.pi * 1.5 ** 2), rel=2e-3)


def test_ssim_loss_matches_numpy_reference():
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(2, 3, 19, 23, generator=gen)
    b = (a + 0.2 * torch.randn(a.shape, generator=gen)).clamp(0, 1)
    ref = np.stack([_ssim_numpy(a[i].double().numpy(), b[i].double().numpy()) for i in range(2)])
    loss_map = SSIMLoss(reduction='none')(a, b)
    assert loss_map.shape == a.shape
    # float32 (E[x^2] - mu^2 cancels): a few 1e-6 per pixel; float64 input leaves
    # only the float32 window's rounding.
    np.testing.assert_allclose(loss_map.numpy(), -ref, rtol=0, atol=5e-6)
    np.testing.assert_allclose(SSIMLoss(reduction='none')(a.double(), b.double()).numpy(), -ref,
                               rtol=0, atol=5e-7)
    assert SSIMLoss()(a, b).item() == pytest.approx(-ref.mean(), abs=1e-7)
    assert SSIMLoss(loss_weight=2.0, reduction='sum')(a, b).item() == pytest.approx(
        -2 * ref.sum(), rel=1e-5)


def test_ssim_loss_identical_and_constant_images():
    a = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    assert SSIMLoss()(a, a).item() == pytest.approx(-1.0, abs=1e-6)
    # Constant images p, q: away from the zero-padded border sigma = 0 and
    # SSIM = (2pq + C1) / (p^2 + q^2 + C1).
    p, q = 0.05, 0.1  # small, so that C1 matters: 0.80159 with it, 0.8 without
    loss_map = SSIMLoss(reduction='none')(torch.full((1, 1, 21, 21), p), torch.full((1, 1, 21, 21), q))
    c1 = 0.01 ** 2
    assert loss_map[0, 0, 10, 10].item() == pytest.approx(-(2 * p * q + c1) / (p * p + q * q + c1),
                                                          abs=1e-5)


def test_ssim_window_is_not_saved_in_state_dict():
    assert SSIMLoss().state_dict() == {}
    assert PSNRLoss(toY=True).state_dict() == {}


def test_losses_build_from_registry_and_reject_bad_options():
    loss = MODELS.build(dict(type='CharbonnierLoss', loss_weight=0.5, eps=1e-3))
    assert isinstance(loss, CharbonnierLoss) and loss.loss_weight == 0.5
    for name in ('L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss', 'SSIMLoss'):
        assert MODELS.build(dict(type=name)).loss_weight == 1.0
        with pytest.raises(TypeError, match='los_weight'):
            MODELS.build(dict(type=name, los_weight=1.0))  # a misspelt option is an error
        with pytest.raises(ValueError, match="reduction must be one of"):
            MODELS.build(dict(type=name, reduction='avg'))


def test_losses_reject_mismatched_shapes():
    for loss in (L1Loss(), PSNRLoss(), SSIMLoss()):
        with pytest.raises(ValueError, match=r'same shape.*\(1, 3, 8, 8\) and \(1, 3, 8, 9\)'):
            loss(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match='does not broadcast'):
        L1Loss()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), weight=torch.ones(2, 1, 4, 4))


def test_multi_stage_loss_sums_the_weighted_stage_losses():
    target = torch.zeros(1, 1, 2, 2)
    preds = [torch.full((1, 1, 2, 2), v) for v in (1.0, 2.0, 3.0)]
    loss = MODELS.build(dict(type='MultiStageLoss', loss=dict(type='MSELoss')))
    assert loss.takes_stage_outputs
    assert loss(preds, target).item() == pytest.approx(1 + 4 + 9)
    weighted = MultiStageLoss(L1Loss(loss_weight=2.0), stage_weights=[0.5, 0, 1])
    assert weighted(preds, target).item() == pytest.approx(2 * (0.5 * 1 + 0 * 2 + 1 * 3))
    with pytest.raises(ValueError, match='3 stage_weights for 2 stage outputs'):
        weighted(preds[:2], target)
    with pytest.raises(TypeError, match='expected a non-empty list of stage outputs, got Tensor'):
        loss(preds[0], target)
    with pytest.raises(ValueError, match='stage_weights must be a non-empty list of numbers'):
        MultiStageLoss(dict(type='MSELoss'), stage_weights=[])
    with pytest.raises(ValueError, match='must be a pixel loss of one output'):
        MultiStageLoss(MultiStageLoss(dict(type='MSELoss')))
