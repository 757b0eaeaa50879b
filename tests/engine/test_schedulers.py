"""ExponentialDecayToFloorLR: TensorFlow's continuous exponential decay plus a floor (MSPFN)."""
import pytest
import torch
from mmengine.registry import init_default_scope

from restorelab.registry import PARAM_SCHEDULERS


def lrs(scheduler, optimizer, steps):
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return values


def test_mspfn_schedule_is_tensorflow_exponential_decay_plus_floor():
    init_default_scope('restorelab')
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=5e-4 + 1e-6)
    scheduler = PARAM_SCHEDULERS.build(dict(type='ExponentialDecayToFloorLR', optimizer=optimizer,
                                            decay_rate=0.8, decay_steps=4, floor=1e-6, by_epoch=False))
    got = lrs(scheduler, optimizer, 10)
    # lr of iteration j = 5e-4 * 0.8 ** (j / 4) + 1e-6 (train_MSPFN.py with decay_steps 20,000)
    expected = [5e-4 * 0.8 ** (j / 4) + 1e-6 for j in range(10)]
    assert got == pytest.approx(expected, rel=1e-12)
    assert got[4] == pytest.approx(5e-4 * 0.8 + 1e-6, rel=1e-12)


@pytest.mark.parametrize('option, value', [('decay_rate', 0), ('decay_steps', 0)])
def test_bad_options_are_refused(option, value):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    kwargs = dict(decay_rate=0.5, decay_steps=10, by_epoch=False)
    kwargs[option] = value
    with pytest.raises(ValueError, match=f'{option} must be > 0'):
        PARAM_SCHEDULERS.get('ExponentialDecayToFloorLR')(optimizer, **kwargs)
