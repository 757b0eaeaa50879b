"""CharbonnierEdgeLoss (MSPFN's loss): closed-form values and the release's [-1, 1] domain."""
import math

import pytest
import torch

from restorelab.models.losses import CharbonnierEdgeLoss
from restorelab.models.losses.charbonnier_edge_loss import laplacian3x3
from restorelab.registry import MODELS


def rho(v, eps=1e-3):
    return math.sqrt(v * v + eps * eps)


def test_equal_images_cost_eps_per_term():
    x = torch.rand(2, 3, 6, 7, dtype=torch.float64)
    loss = CharbonnierEdgeLoss(edge_weight=0.05, eps=1e-3)
    assert float(loss(x, x)) == pytest.approx(1e-3 * 1.05, rel=1e-12)


def test_constant_error_has_edges_only_at_the_zero_padded_border():
    """A constant error c on a 4x5 image: the Laplacian is 5c at the 4 corners, 3c at the 10
    other border pixels and 0 at the 6 inner ones (zero 'SAME' padding, as the release)."""
    target = torch.zeros(1, 1, 4, 5, dtype=torch.float64)
    c = 0.1
    loss = CharbonnierEdgeLoss(edge_weight=0.05, eps=1e-3, scale=2.0)
    d = 2 * c
    expected = rho(d) + 0.05 * (4 * rho(5 * d) + 10 * rho(3 * d) + 6 * rho(0)) / 20
    assert float(loss(target + c, target)) == pytest.approx(expected, rel=1e-12)
    lap = laplacian3x3(torch.full((1, 1, 4, 5), d, dtype=torch.float64))
    assert lap[0, 0, 0, 0] == pytest.approx(5 * d) and lap[0, 0, 0, 2] == pytest.approx(3 * d)
    assert lap[0, 0, 1:-1, 1:-1].abs().max() < 1e-15


def test_scale_two_is_the_release_loss_on_images_in_minus_one_one():
    pred, target = torch.rand(2, 3, 8, 8, dtype=torch.float64), torch.rand(2, 3, 8, 8, dtype=torch.float64)
    ours = CharbonnierEdgeLoss(scale=2.0)(pred, target)
    release = CharbonnierEdgeLoss(scale=1.0)(pred * 2 - 1, target * 2 - 1)
    torch.testing.assert_close(ours, release, rtol=1e-14, atol=0)


def test_channels_are_filtered_alone_and_weight_applies():
    pred = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
    pred[0, 0, 2, 2] = 1.0  # an impulse in channel 0 only
    lap = laplacian3x3(pred)
    assert lap[0, 0, 2, 2] == 8 and lap[0, 0, 1, 1] == -1 and lap[0, 1].abs().max() == 0
    loss = MODELS.build(dict(type='CharbonnierEdgeLoss', reduction='sum'))
    weight = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
    weight[0, 0, 2, 2] = 1.0
    assert float(loss(pred, torch.zeros_like(pred), weight)) == pytest.approx(rho(1) + 0.05 * rho(8))


@pytest.mark.parametrize('option', ['edge_weight', 'eps', 'scale'])
def test_bad_options_are_refused(option):
    with pytest.raises(ValueError, match=f'CharbonnierEdgeLoss: {option} must be a number >= 0'):
        CharbonnierEdgeLoss(**{option: -1})
