"""RCDNet's training loss (configs/rcdnet: MultiStageLoss of an MSE over
``RCDNet.forward_stages``) equals the release's trainer.py loss, and ImageRestorer trains
every parameter with it."""
import pytest
import torch
import torch.nn as nn

from restorelab.models.archs.rcdnet import rcdnet_stage_weights
from restorelab.models.restorers import ImageRestorer
from restorelab.structures import DataSample

pytestmark = pytest.mark.usefixtures('single_thread')


def release_loss(B0, list_b, list_r, lr, hr, S):
    """hongwang01/RCDNet for_syn/src/trainer.py (the 2022-09-19 version), on [0, 255] values."""
    mse = nn.MSELoss()
    loss_bs = loss_rs = 0
    for j in range(S):
        loss_bs = loss_bs + 0.1 * mse(list_b[j], hr)
        loss_rs = loss_rs + 0.1 * mse(list_r[j], lr - hr)
    loss_b = mse(list_b[-1], hr)
    loss_r = 0.9 * mse(list_r[-1], lr - hr)
    loss_b0 = 0.1 * mse(B0, hr)
    return loss_b0 + loss_bs + loss_rs + loss_b + loss_r


def tiny_batch(n=2, h=12, w=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.rand(3, h, w, generator=gen) for _ in range(n)],
                data_samples=[DataSample(gt_img=torch.rand(3, h, w, generator=gen), key=f'k{i}')
                              for i in range(n)])


@pytest.mark.parametrize('stages', [1, 3])
def test_the_config_loss_is_the_release_loss(stages):
    torch.manual_seed(0)
    loss_cfg = dict(type='MultiStageLoss', loss=dict(type='MSELoss', loss_weight=255.0 ** 2),
                    stage_weights=rcdnet_stage_weights(stages))
    model = ImageRestorer(dict(type='RCDNet', stages=stages, num_M=3, num_Z=2), loss_cfg)
    data = model.data_preprocessor(tiny_batch(), training=True)
    loss = model(**data, mode='loss')['loss_pix']
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    B0, Bs, Rs = model.arch.unfold(data['inputs'] * 255)  # the release's outputs, on 0..255
    expected = release_loss(B0, Bs, Rs, data['inputs'] * 255, gt * 255, stages)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    no_grad = [k for k, p in model.arch.named_parameters()
               if p.numel() and (p.grad is None or not p.grad.abs().sum())]  # (S = 1: no eta11)
    assert not no_grad  # every parameter is used: no find_unused_parameters needed


def test_stage_weights():
    assert rcdnet_stage_weights(2) == [0.1, 0.1, 0.1, 0.1, 1.0, 1.0]
    weights = rcdnet_stage_weights(17)
    assert len(weights) == 36 and weights[-2:] == [1.0, 1.0] and set(weights[:-2]) == {0.1}
