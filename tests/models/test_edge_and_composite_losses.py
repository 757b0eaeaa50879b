"""EdgeLoss (MPRNet's Laplacian-pyramid edge loss) against a numpy reference and closed forms;
Laplacian3x3EdgeLoss (MSPFN's 3x3 Laplacian edge loss) against closed forms; CompositeLoss sums
its losses."""
import numpy as np
import pytest
import torch

import math

from restorelab.models.losses import (CharbonnierLoss, CompositeLoss, EdgeLoss, L1Loss,
                                      Laplacian3x3EdgeLoss)
from restorelab.models.losses.edge_loss import laplacian, laplacian3x3, pyramid_kernel
from restorelab.registry import MODELS

TAPS = np.array([0.05, 0.25, 0.4, 0.25, 0.05])


def np_blur(img):
    """5x5 filter TAPS x TAPS on each (H, W) plane of ``img`` (..., H, W), edges replicated."""
    h, w = img.shape[-2:]
    padded = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(2, 2), (2, 2)], mode='edge')
    out = np.zeros_like(img)
    for dy in range(5):
        for dx in range(5):
            out += TAPS[dy] * TAPS[dx] * padded[..., dy:dy + h, dx:dx + w]
    return out


def np_laplacian(img):
    blurred = np_blur(img)
    expanded = np.zeros_like(img)
    expanded[..., ::2, ::2] = 4 * blurred[..., ::2, ::2]
    return img - np_blur(expanded)


@pytest.mark.parametrize('shape', [(2, 3, 12, 16), (1, 3, 9, 7)])
def test_edge_loss_matches_a_numpy_laplacian_pyramid(shape):
    gen = torch.Generator().manual_seed(0)
    pred, target = (torch.rand(shape, generator=gen, dtype=torch.float64) for _ in range(2))
    diff = np_laplacian(pred.numpy()) - np_laplacian(target.numpy())
    expected = np.sqrt(diff ** 2 + 1e-6)
    got = EdgeLoss(reduction='none')(pred, target)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-7)  # float32 kernel taps
    assert EdgeLoss()(pred, target).item() == pytest.approx(expected.mean(), abs=1e-7)
    assert EdgeLoss(loss_weight=0.05, reduction='sum')(pred, target).item() == pytest.approx(
        0.05 * expected.sum(), rel=1e-7)


def test_laplacian_closed_forms():
    # The kernel: the float32 outer product of the taps (centre 0.4 * 0.4), summing to 1.
    kernel = pyramid_kernel()
    assert kernel.dtype == torch.float32 and kernel.shape == (5, 5)
    assert kernel[2, 2].item() == pytest.approx(0.16) and kernel.sum().item() == pytest.approx(1.0)
    # A constant image has no Laplacian away from the borders (even taps and odd taps sum to 1/2).
    flat = torch.full((1, 1, 12, 12), 0.7, dtype=torch.float64)
    assert laplacian(flat)[..., 2:-2, 2:-2].abs().max().item() < 1e-7
    # No error, no edge loss beyond Charbonnier's eps; a constant offset leaves it there inside.
    img = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    assert EdgeLoss()(img, img).item() == pytest.approx(1e-3)
    inner = EdgeLoss(reduction='none')(img + 0.25, img)[..., 2:-2, 2:-2]
    torch.testing.assert_close(inner, torch.full_like(inner, 1e-3), rtol=0, atol=1e-7)


def test_edge_loss_weight_and_errors():
    pred, target = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :] = 1
    full = EdgeLoss(reduction='none')(pred, target)
    assert EdgeLoss()(pred, target, weight=mask).item() == pytest.approx(full[..., :4, :].mean().item())
    with pytest.raises(ValueError, match='EdgeLoss: pred and target must be'):
        EdgeLoss()(pred, target[..., :4])
    assert 'kernel' not in EdgeLoss().state_dict()  # a constant, not saved


def test_laplacian3x3_closed_forms():
    # A constant c on 4x5: 8c - (neighbours inside) = 5c at the 4 corners, 3c at the 10 other
    # border pixels, 0 at the 6 inner ones (zero 'SAME' padding).
    c = 0.1
    lap = laplacian3x3(torch.full((1, 1, 4, 5), c, dtype=torch.float64))
    expected = torch.full((4, 5), 3 * c, dtype=torch.float64)
    expected[1:-1, 1:-1] = 0
    expected[0, 0] = expected[0, -1] = expected[-1, 0] = expected[-1, -1] = 5 * c
    torch.testing.assert_close(lap[0, 0], expected, rtol=0, atol=1e-15)
    # An impulse in channel 0: 8 at it, -1 around it; channel 1 untouched.
    impulse = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
    impulse[0, 0, 2, 2] = 1.0
    lap = laplacian3x3(impulse)
    assert lap[0, 0, 2, 2] == 8 and lap[0, 0, 1:4, 1:4].sum() == 0 and lap[0, 0, 1, 1] == -1
    assert lap[0, 0].abs().sum() == 16 and lap[0, 1].abs().max() == 0


def test_laplacian3x3_edge_loss_closed_form_and_weight():
    def rho(v, eps=1e-3):
        return math.sqrt(v * v + eps * eps)

    target = torch.rand(1, 1, 4, 5, dtype=torch.float64)
    c = 0.1  # a constant error has edges only at the zero-padded border (see above)
    expected = (4 * rho(5 * c) + 10 * rho(3 * c) + 6 * rho(0)) / 20
    assert Laplacian3x3EdgeLoss()(target + c, target).item() == pytest.approx(expected, rel=1e-12)
    assert Laplacian3x3EdgeLoss(eps=0.5, loss_weight=0.05, reduction='sum')(
        target + c, target).item() == pytest.approx(
            0.05 * (4 * rho(5 * c, 0.5) + 10 * rho(3 * c, 0.5) + 6 * rho(0, 0.5)), rel=1e-12)
    weight = torch.zeros(1, 1, 4, 5, dtype=torch.float64)
    weight[..., 0, 0] = 1  # a corner only
    loss = Laplacian3x3EdgeLoss(reduction='sum')(target + c, target, weight)
    assert loss.item() == pytest.approx(rho(5 * c), rel=1e-12)
    with pytest.raises(ValueError, match='Laplacian3x3EdgeLoss: eps must be a number >= 0'):
        Laplacian3x3EdgeLoss(eps=-1)


def test_composite_loss_is_the_sum_of_its_losses():
    pred, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    loss = MODELS.build(dict(type='CompositeLoss', losses=[
        dict(type='CharbonnierLoss'), dict(type='EdgeLoss', loss_weight=0.05)]))
    expected = CharbonnierLoss()(pred, target) + 0.05 * EdgeLoss()(pred, target)
    torch.testing.assert_close(loss(pred, target), expected, rtol=1e-6, atol=0)
    weight = torch.rand(2, 1, 8, 8)
    mixed = CompositeLoss([L1Loss(), dict(type='L1Loss', loss_weight=2.0)])
    torch.testing.assert_close(mixed(pred, target, weight), 3 * L1Loss()(pred, target, weight))
    for bad in ([], None, dict(type='L1Loss')):
        with pytest.raises(ValueError, match='CompositeLoss: losses must be a non-empty list'):
            CompositeLoss(bad)
