"""Helpers for tests that hold a module's fast path (``fast=True``) equal to its plain path
(``fast=False``): random parameters, twin modules sharing them, and the comparison of outputs and
gradients. Used by restorelab's tests and by plugins' tests (DRSformer)."""
import torch

from restorelab.utils.profiling import agreement_db


def randomise(module, scale=0.5, seed=0):
    """Redraw every parameter of ``module`` (mixing weights, temperatures, norms included) from
    N(0, scale^2), so that no rewrite hides behind an initial value such as 0, 0.2 or 1."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return module


def twins(factory, scale=0.5):
    """(fast, plain): ``factory(fast=True)`` with random float64 parameters, and ``factory(fast=False)``
    loaded strictly from its state_dict (the flag changes no parameter name)."""
    fast = randomise(factory(fast=True), scale).double()
    plain = factory(fast=False).double()
    plain.load_state_dict(fast.state_dict(), strict=True)
    return fast, plain


def range_psnr_db(a, b):
    """PSNR in dB of ``a`` against ``b``, the peak taken as ``b``'s range (outputs of random
    weights are not images in [0, 1])."""
    return agreement_db(a, b, peak=(b.max() - b.min()).item())


def compare(fast, plain, x):
    """Outputs and gradients (of the input and of every parameter) of ``fast(x)`` and ``plain(x)``.

    The gradients are those of ``sum(out * r)`` for one fixed random ``r``. Returns (max abs output
    difference, max abs gradient difference, max abs gradient, output PSNR in dB).
    """
    x = x.detach().requires_grad_(True)
    out_fast, out_plain = fast(x), plain(x)
    weight = torch.randn(out_plain.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    weight = weight.to(device=x.device, dtype=x.dtype)
    grads_fast = torch.autograd.grad((out_fast * weight).sum(), [x] + list(fast.parameters()))
    grads_plain = torch.autograd.grad((out_plain * weight).sum(), [x] + list(plain.parameters()))
    grad_diff = max((a - b).abs().max().item() for a, b in zip(grads_fast, grads_plain))
    grad_max = max(b.abs().max().item() for b in grads_plain)
    return ((out_fast - out_plain).abs().max().item(), grad_diff, grad_max,
            range_psnr_db(out_fast.detach(), out_plain.detach()))


def assert_float64_equal(fast, plain, x, tol=1e-8):
    """Outputs within ``tol`` and gradients within ``tol`` relative to the largest gradient (float64)."""
    diff, grad_diff, grad_max, _ = compare(fast, plain, x)
    assert diff <= tol and grad_diff <= tol * max(1.0, grad_max), (diff, grad_diff, grad_max)
