"""Every arch at tiny size through one training step of the restorer on each device, in full and
mixed precision with mmengine's optim wrappers: finite loss and gradients, weights changed.

CPU: bfloat16 autocast through restorelab's ``CPUAmpOptimWrapper`` (mmengine's ``AmpOptimWrapper``
refuses to start without a GPU in mmengine 0.10.7; the float32 step of each arch is in its own
tests). CUDA (marked ``cuda``): float32 with ``OptimWrapper``, bfloat16 and float16 with
``AmpOptimWrapper`` (float16 with its loss scaler)."""
import importlib

import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from restorelab.engine.optim_wrapper import CPUAmpOptimWrapper
from restorelab.models.restorers import ImageRestorer
from restorelab.structures import DataSample

importlib.import_module('projects.drsformer.drsformer')  # registers the DRSformer plugin

pytestmark = pytest.mark.usefixtures('single_thread')

TINY_ARCHS = {
    'DRSformer': dict(type='DRSformer', dim=8, num_blocks=[1, 1, 1, 1], heads=[1, 1, 2, 2]),
    'Restormer': dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                      heads=[1, 2, 2, 4], ffn_expansion_factor=1.5),
    'Uformer': dict(type='Uformer', img_size=16, embed_dim=4, depths=[1] * 9,
                    num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1], win_size=2),
    'IDT': dict(type='IDT', img_size=16, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1],
                win_size=2, spatial_win_size=2, spatial_k_bounds=(4, 4, 2, 2, 2, 2, 4, 4)),
    'PReNet': dict(type='PReNet', recurrent_iter=2),
    'PReNet_r': dict(type='PReNet_r', recurrent_iter=2),
    'PRN': dict(type='PRN', recurrent_iter=2),
    'PRN_r': dict(type='PRN_r', recurrent_iter=2),
    'BRN': dict(type='BRN', recurrent_iter=2),
    'AIDNet': dict(type='AIDNet', recurrent_iter=2),
    'RESCAN': dict(type='RESCAN', num_stages=2, depth=4, channels=6),
}

CUDA = pytest.mark.cuda
CASES = [('cpu', 'bfloat16')] + [pytest.param('cuda', dtype, marks=CUDA) for dtype in
                                  ('float32', 'bfloat16', 'float16')]


def _batch(n=2, size=16):
    gen = torch.Generator().manual_seed(0)
    samples = [DataSample(gt_img=torch.rand(3, size, size, generator=gen), metainfo=dict(key=f'k{i}'))
               for i in range(n)]
    return dict(inputs=[torch.rand(3, size, size, generator=gen) for _ in range(n)], data_samples=samples)


def _wrapper(device, dtype, optimizer):
    if device == 'cpu':
        return CPUAmpOptimWrapper(optimizer=optimizer)  # bfloat16
    if dtype == 'float32':
        return OptimWrapper(optimizer=optimizer)
    # A moderate initial scale: the default 2**16 may skip the first step of a tiny model on overflow.
    return AmpOptimWrapper(optimizer=optimizer, dtype=dtype, loss_scale=dict(init_scale=2.0 ** 8))


@pytest.mark.parametrize('device, dtype', CASES)
@pytest.mark.parametrize('arch', sorted(TINY_ARCHS))
def test_training_step(arch, device, dtype, request):
    if device == 'cuda':
        request.getfixturevalue('cuda_device')  # skips, with the reason, where there is no GPU
    torch.manual_seed(0)
    model = ImageRestorer(dict(TINY_ARCHS[arch]), dict(type='L1Loss')).to(device)
    wrapper = _wrapper(device, dtype, torch.optim.Adam(model.parameters(), lr=1e-3))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    data = model.data_preprocessor(_batch(), training=True)
    assert data['inputs'].device.type == device
    with wrapper.optim_context(model):
        losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert loss.dtype == torch.float32 and torch.isfinite(loss), loss
    wrapper.backward(loss)
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), \
        [name for name, g in grads.items() if g is None or not torch.isfinite(g).all()]
    wrapper.step()
    moved = {name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])}
    with_gradient = {name for name, g in grads.items() if g.abs().max() > 0}
    assert with_gradient and with_gradient <= moved, sorted(with_gradient - moved)


def test_mmengine_amp_wrapper_needs_a_gpu():
    """Why the CPU cases use restorelab's wrapper: mmengine 0.10.7's refuses to start on the CPU."""
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present: AmpOptimWrapper starts')
    with pytest.raises(AssertionError, match='only available training on gpu'):
        AmpOptimWrapper(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
