"""AttentionMaskLoss (SPANet's training loss) against its closed form, and ImageRestorer passing
it the arch's attention map."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.models.losses import AttentionMaskLoss, L1Loss, rain_mask
from restorelab.registry import MODELS
from restorelab.structures import DataSample


def test_rain_mask_marks_pixels_that_differ_in_any_channel():
    clean = torch.zeros(1, 3, 2, 3)
    rainy = clean.clone()
    rainy[0, 0, 0, 0] = 1 / 255  # one channel of one pixel, one 8-bit step
    rainy[0, :, 1, 2] = 0.5  # every channel of another
    mask = rain_mask(rainy, clean)
    assert mask.shape == (1, 2, 3) and mask.dtype == torch.float32
    assert mask.tolist() == [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]


def test_loss_is_the_pixel_loss_plus_the_mask_mse():
    gen = torch.Generator().manual_seed(0)
    pred, clean = torch.rand(2, 3, 5, 4, generator=gen), torch.rand(2, 3, 5, 4, generator=gen)
    rainy = clean.clone()
    rainy[:, :, :2] += 0.1  # the top two rows differ: mask 1 there, 0 below
    attention = torch.rand(2, 1, 5, 4, generator=gen)
    loss = AttentionMaskLoss(dict(type='L1Loss'), mask_weight=0.5)
    mask = torch.zeros(2, 5, 4)
    mask[:, :2] = 1
    want = (pred - clean).abs().mean() + 0.5 * ((attention[:, 0] - mask) ** 2).mean()
    torch.testing.assert_close(loss(pred, clean, attention, rainy), want)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='mask_weight must be a number'):
        AttentionMaskLoss(dict(type='L1Loss'), mask_weight='1')
    with pytest.raises(ValueError, match='loss must be a loss of one prediction'):
        AttentionMaskLoss(dict(type='MultiStageLoss', loss=dict(type='L1Loss')))
    loss = AttentionMaskLoss(L1Loss())
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match=r'attention must be \(N, 1, H, W\) = \(1, 1, 4, 4\), got \(1, 4, 4, 4\)'):
        loss(x, x, torch.rand(1, 4, 4, 4), x)


class _ArchWithAttention(nn.Module):
    size_multiple = 1

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.att = nn.Conv2d(3, 1, 1)

    def forward_with_attention(self, x):
        return self.conv(x), torch.sigmoid(self.att(x))

    def forward(self, x):
        return self.forward_with_attention(x)[0]


def test_restorer_hands_the_loss_the_attention_map_and_the_inputs():
    torch.manual_seed(0)
    arch = _ArchWithAttention()
    model = MODELS.build(dict(type='ImageRestorer', arch=arch, pixel_loss=dict(
        type='AttentionMaskLoss', loss=dict(type='MSELoss'))))
    rainy, clean = torch.rand(2, 3, 6, 6), torch.rand(2, 3, 6, 6)
    got = model(rainy, [DataSample(gt_img=c) for c in clean], mode='loss')['loss_pix']
    pred, attention = arch.forward_with_attention(rainy)
    want = F.mse_loss(pred, clean) + F.mse_loss(attention[:, 0], rain_mask(rainy, clean))
    torch.testing.assert_close(got, want)
    got.backward()
    assert arch.att.weight.grad is not None and arch.att.weight.grad.abs().sum() > 0


def test_restorer_refuses_the_loss_for_an_arch_without_attention():
    model = MODELS.build(dict(type='ImageRestorer', arch=nn.Conv2d(3, 3, 1), pixel_loss=dict(
        type='AttentionMaskLoss', loss=dict(type='MSELoss'))))
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match='Conv2d has no forward_with_attention'):
        model(x, [DataSample(gt_img=x[0])], mode='loss')
