"""FCR, the frequency-domain contrastive regularization: the release's loops written out, the draw of the
negatives, the gradient, and its place in the recipe's loss through ImageRestorer."""
import math

import pytest
import torch

from projects.fadformer.fadformer import FrequencyContrastiveLoss, frequency_contrastive_loss
from projects.fadformer.fadformer.fcr import draw_negative_indices
from restorelab.models.restorers import ImageRestorer
from restorelab.registry import MODELS
from restorelab.structures import DataSample


def release_fcr(a, p, n, negatives, eps=1e-7):
    """models/FCR.py's loops: for each anchor i, d_ap = L1 between the DFTs (mean modulus of the complex
    difference), and d_ap / (d_an + eps) summed over its negatives j, divided by k * B."""
    a_fft, p_fft, n_fft = torch.fft.fft2(a), torch.fft.fft2(p), torch.fft.fft2(n)
    total = 0
    for i in range(a.shape[0]):
        d_ap = torch.nn.L1Loss()(a_fft[i], p_fft[i])
        for j in negatives[i]:
            total = total + d_ap / (torch.nn.L1Loss()(a_fft[i], n_fft[j]) + eps)
    return total / (len(negatives[0]) * a.shape[0])


def dft_distance(u, v):
    """mean over (C, H, W) of |DFT(u) - DFT(v)|, the DFT as a sum over pixels (no FFT)."""
    c, h, w = u.shape
    kh = torch.arange(h, dtype=torch.float64)
    kw = torch.arange(w, dtype=torch.float64)
    angle = -2 * math.pi * (kh[:, None, None, None] * kh[None, None, :, None] / h
                            + kw[None, :, None, None] * kw[None, None, None, :] / w)  # (k, l, y, x)
    d = (u - v)[:, None, None]
    re = (d * torch.cos(angle)).sum(dim=(-2, -1))
    im = (d * torch.sin(angle)).sum(dim=(-2, -1))
    return torch.sqrt(re ** 2 + im ** 2).mean()


def test_loss_equals_the_releases_loops_and_the_dft_written_out():
    gen = torch.Generator().manual_seed(0)
    a, p, n = (torch.rand(3, 3, 5, 6, generator=gen, dtype=torch.float64) for _ in range(3))
    negatives = [[0, 2], [1, 0], [2, 1]]
    ours = frequency_contrastive_loss(a, p, n, torch.tensor(negatives))
    torch.testing.assert_close(ours, release_fcr(a, p, n, negatives), rtol=1e-12, atol=0)
    by_hand = sum(dft_distance(a[i], p[i]) / (dft_distance(a[i], n[j]) + 1e-7)
                  for i in range(3) for j in negatives[i]) / 6
    torch.testing.assert_close(ours, by_hand, rtol=1e-10, atol=0)


def test_negatives_are_the_own_input_and_distinct_others():
    torch.manual_seed(0)
    seen = set()
    for _ in range(200):
        rows = draw_negative_indices(4, 3)
        assert rows.shape == (4, 3)
        for i, row in enumerate(rows.tolist()):
            assert row[0] == i and len(set(row)) == 3 and all(0 <= j < 4 for j in row)
            seen.add((i, tuple(sorted(row[1:]))))
    assert len(seen) == 4 * 3  # every pair of others of every anchor is drawn
    assert draw_negative_indices(1, 1).tolist() == [[0]]
    with pytest.raises(ValueError, match='num_negatives=2 needs a batch of at least 2 images'):
        draw_negative_indices(1, 2)


def test_module_weight_gradient_and_errors():
    gen = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 3, 8, 8, generator=gen, requires_grad=True)
    target, rain = torch.rand(2, 3, 8, 8, generator=gen), torch.rand(2, 3, 8, 8, generator=gen)
    loss_fn = FrequencyContrastiveLoss(loss_weight=0.1)
    torch.manual_seed(0)
    loss = loss_fn(pred, target, inputs=rain)
    # With two images, anchor i's negatives are always [i, 1 - i].
    expected = 0.1 * frequency_contrastive_loss(pred, target, rain, torch.tensor([[0, 1], [1, 0]]))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert pred.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='needs the rainy inputs as negatives'):
        loss_fn(pred, target)
    with pytest.raises(ValueError, match='per-pixel weights are not supported'):
        loss_fn(pred, target, torch.ones(2, 1, 8, 8), inputs=rain)
    with pytest.raises(ValueError, match='num_negatives must be an int >= 1'):
        FrequencyContrastiveLoss(num_negatives=0)
    with pytest.raises(ValueError, match='needs a batch of at least 2'):
        loss_fn(pred[:1], target[:1], inputs=rain[:1])


def test_recipe_loss_through_the_restorer_is_l1_plus_a_tenth_of_fcr():
    torch.manual_seed(0)
    arch = torch.nn.Conv2d(3, 3, 3, padding=1)
    model = ImageRestorer(arch, dict(type='CompositeLoss', losses=[
        dict(type='L1Loss', loss_weight=1.0),
        dict(type='FrequencyContrastiveLoss', loss_weight=0.1, num_negatives=2)]))
    assert isinstance(MODELS.build(dict(type='FrequencyContrastiveLoss')), FrequencyContrastiveLoss)
    gen = torch.Generator().manual_seed(2)
    data = dict(inputs=[torch.rand(3, 8, 8, generator=gen) for _ in range(2)],
                data_samples=[DataSample(gt_img=torch.rand(3, 8, 8, generator=gen)) for _ in range(2)])
    data = model.data_preprocessor(data, training=True)
    x = data['inputs']
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    pred = arch(x)
    expected = (pred - gt).abs().mean() + 0.1 * frequency_contrastive_loss(pred, gt, x, torch.tensor([[0, 1], [1, 0]]))
    torch.testing.assert_close(model(**data, mode='loss')['loss_pix'], expected)
