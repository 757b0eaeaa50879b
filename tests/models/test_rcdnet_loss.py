"""RCDNetLoss against a closed form and the release's trainer.py formula, and ImageRestorer's
path for losses on intermediate estimates (``takes_stage_outputs``)."""
import pytest
import torch
import torch.nn as nn

from restorelab.models.losses import RCDNetLoss
from restorelab.models.restorers import ImageRestorer
from restorelab.registry import MODELS
from restorelab.structures import DataSample

pytestmark = pytest.mark.usefixtures('single_thread')


def constant(value, shape=(1, 3, 2, 2)):
    return torch.full(shape, float(value), dtype=torch.float64)


def test_closed_form_one_stage():
    # target 1, input 3 (rain 2); B0 = B1 = output = 0 (each mse 1), R1 = 0 (mse 4):
    # 0.1 * (1 + 1 + 4) + 1 * 1 + (1 - 0.1) * 4 = 5.2
    stages = dict(B0=constant(0), B=[constant(0), constant(0)], R=[constant(0)])
    loss = RCDNetLoss()(stages, constant(1), constant(3))
    assert loss.item() == pytest.approx(5.2, rel=1e-6)
    assert RCDNetLoss(loss_weight=2.0)(stages, constant(1), constant(3)).item() == pytest.approx(10.4, rel=1e-6)
    # Only the output and the last rain layer: stage_weight 0.
    assert RCDNetLoss(stage_weight=0)(stages, constant(1), constant(3)).item() == pytest.approx(5.0)


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


def test_equals_the_release_loss_on_its_value_range():
    S = 4
    gen = torch.Generator().manual_seed(0)
    rand = lambda: torch.rand(2, 3, 5, 6, generator=gen, dtype=torch.float64)  # noqa: E731
    B0, list_b, list_r, lr, hr = rand(), [rand() for _ in range(S + 1)], [rand() for _ in range(S)], rand(), rand()
    expected = release_loss(B0 * 255, [b * 255 for b in list_b], [r * 255 for r in list_r], lr * 255, hr * 255, S)
    got = RCDNetLoss(loss_weight=255.0 ** 2)(dict(B0=B0, B=list_b, R=list_r), hr, lr)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)  # _mse computes in float32


def test_bad_options_and_inputs():
    with pytest.raises(ValueError, match='stage_weight must be a number >= 0, got -1'):
        RCDNetLoss(stage_weight=-1)
    with pytest.raises(ValueError, match=r"lack \['R'\]"):
        RCDNetLoss()(dict(B0=constant(0), B=[constant(0)]), constant(0), constant(0))


def tiny_batch(n=2, h=12, w=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.rand(3, h, w, generator=gen) for _ in range(n)],
                data_samples=[DataSample(gt_img=torch.rand(3, h, w, generator=gen), key=f'k{i}')
                              for i in range(n)])


def test_restorer_passes_the_stage_outputs_and_inputs_to_a_stage_loss():
    torch.manual_seed(0)
    model = ImageRestorer(dict(type='RCDNet', stages=2, num_M=3, num_Z=2), dict(type='RCDNetLoss'))
    data = model.data_preprocessor(tiny_batch(), training=True)
    loss = model(**data, mode='loss')['loss_pix']
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    expected = RCDNetLoss()(model.arch.forward_stages(data['inputs']), gt, data['inputs'])
    assert loss.dtype == torch.float32 and torch.allclose(loss, expected, rtol=1e-6, atol=0)
    loss.backward()
    no_grad = [k for k, p in model.arch.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not no_grad  # every parameter is used: no find_unused_parameters needed
    with torch.no_grad():  # predict mode: the output of forward
        torch.testing.assert_close(model(data['inputs']),
                                   model.arch.forward_stages(data['inputs'])['B'][-1], rtol=0, atol=0)


def test_a_stage_loss_needs_an_arch_with_forward_stages():
    model = ImageRestorer(MODELS.build(dict(type='PRN', recurrent_iter=1)), dict(type='RCDNetLoss'))
    with pytest.raises(ValueError, match='RCDNetLoss supervises the intermediate estimates of an arch '
                                         'with forward_stages\\(\\); PRN has none'):
        model(**model.data_preprocessor(tiny_batch(), training=True), mode='loss')
