"""Helpers for restorelab's tests and plugins' tests (DRSformer, FADformer, NeRD-Rain).

- Tests that hold a module's fast path (``fast=True``) equal to its plain path (``fast=False``):
  random parameters, twin modules sharing them, and the comparison of outputs and gradients.
- Tests that train a config a few steps at tiny size: a generated paired folder
  (:func:`make_paired_folder`) and the run (:func:`train_tiny`).
- Tests of a plugin's checkpoint converter and registration: what a converter checked with
  ``restorelab.models.converters.renaming`` refuses (:func:`assert_conversion_refusals`), and that
  importing the plugin is what registers its parts (:func:`assert_registers_only_when_imported`).
"""
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mmengine.runner import Runner

from restorelab.utils.image_io import imwrite_rgb
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


# Tiny training runs of a config: a generated paired folder and two steps of the config's own recipe.

# layout -> (rainy, clean) file of pair i inside a split folder
PAIRED_LAYOUTS = {
    'rain200': ('input/{i}.png', 'target/{i}.png'),  # Rain200H/L, Rain13K: same names
    'rain100': ('rain/rain-{i}.png', 'norain/norain-{i}.png'),  # Rain100H/L
}
# crop transform -> its size argument
CROP_SIZE_KEYS = {'PairedRandomCrop': 'patch_size', 'PairedRandomResizedCrop': 'size'}


def rainy_pair(rng, size):
    """(rainy, clean) uint8 (H, W, 3) images: clean values in [40, 200), +60 on about 10% of pixels."""
    clean = rng.integers(40, 200, size=(*size, 3), dtype=np.uint8)
    rain = np.clip(clean.astype(int) + 60 * (rng.random(size) < 0.1)[..., None], 0, 255)
    return rain.astype(np.uint8), clean


def make_paired_folder(root, layout='rain200', n_train=3, size=(20, 24), seed=0, test_split='test'):
    """A deraining set's folder under ``root``: ``n_train`` pairs in train/ and one in
    ``test_split`` (e.g. 'test/Rain100L' for Rain13K), named as ``PAIRED_LAYOUTS[layout]``."""
    rng = np.random.default_rng(seed)
    rain_name, clean_name = PAIRED_LAYOUTS[layout]
    for split, n in (('train', n_train), (test_split, 1)):
        for i in range(1, n + 1):
            rain, clean = rainy_pair(rng, size)
            imwrite_rgb(str(Path(root, split, clean_name.format(i=i))), clean)
            imwrite_rgb(str(Path(root, split, rain_name.format(i=i))), rain)
    return root


@dataclass
class TinyRun:
    """What a tiny training run left: the runner and the arch's parameters before and after."""
    runner: Runner
    before: dict
    after: dict

    @property
    def unchanged(self):
        """Names of the parameters training left exactly as they were, in the arch's order."""
        return [k for k, v in self.after.items() if torch.equal(self.before[k], v)]

    @property
    def moved(self):
        """Names of the parameters training changed (any value), in the arch's order."""
        unchanged = set(self.unchanged)
        return [k for k in self.after if k not in unchanged]


def train_tiny(cfg, data_root, work_dir, crop=16, before_train=None):
    """Train ``cfg`` (with the caller's model-specific shrinking already applied) for two
    iterations, or two epochs of an epoch-based loop, at tiny size, and validate after the last.

    Every loader reads ``data_root`` with no worker processes; the training batch is 2 (and
    ``total_batch_size``, where the config has one), the crop ``crop`` pixels square; the
    checkpoint is saved after the second step, and asserted to be there. ``before_train(runner)``,
    if given, runs on the built runner before it trains. Returns a :class:`TinyRun`.
    """
    cfg.work_dir = str(work_dir)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = str(data_root)
        loader.num_workers, loader.persistent_workers = 0, False
    cfg.train_dataloader.batch_size = 2
    if 'total_batch_size' in cfg:
        cfg.total_batch_size = 2
    transform = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type in CROP_SIZE_KEYS)
    transform[CROP_SIZE_KEYS[transform.type]] = crop
    unit = 'iter' if 'max_iters' in cfg.train_cfg else 'epoch'
    cfg.train_cfg[f'max_{unit}s'], cfg.train_cfg.val_interval = 2, 2
    cfg.default_hooks.checkpoint.interval = 2
    runner = Runner.from_cfg(cfg)
    if before_train is not None:
        before_train(runner)
    before = {k: v.detach().clone() for k, v in runner.model.arch.named_parameters()}
    runner.train()
    assert Path(work_dir, f'{unit}_2.pth').is_file()
    return TinyRun(runner, before, {k: v.detach() for k, v in runner.model.arch.named_parameters()})


# Plugins' converters and registration.

REPO_ROOT = Path(__file__).resolve().parents[1]


def assert_conversion_refusals(convert, official, drop, extra, reshape, listed, foreign, not_found, wrapper):
    """``convert`` (a converter checked with ``restorelab.models.converters.renaming``) refuses with a
    ValueError:

    - ``official`` (a state_dict in the release's names) less its key ``drop``, plus a key ``extra``
      (a 1-element tensor), with ``reshape = (key, shape)``'s value replaced by zeros of ``shape``:
      the message holds every string of ``listed`` (the missing, unexpected and mis-shaped keys);
    - ``foreign``, a state_dict of another kind: the message matches the pattern ``not_found``;
    - ``{wrapper: official}``, the weights still in their wrapper: 'expected a dict of tensors'.
    """
    import pytest  # a test dependency only

    broken = dict(official)
    del broken[drop]
    broken[extra] = torch.zeros(1)
    broken[reshape[0]] = torch.zeros(reshape[1])
    with pytest.raises(ValueError) as err:
        convert(broken)
    for part in listed:
        assert part in str(err.value)
    with pytest.raises(ValueError, match=not_found):
        convert(foreign)
    with pytest.raises(ValueError, match='expected a dict of tensors'):
        convert({wrapper: official})


def assert_registers_only_when_imported(package, registered):
    """In a fresh interpreter at the repository root, each ``(registry, name, attribute)`` of
    ``registered`` (e.g. ``('MODELS', 'DRSformer', 'DRSformer')``) is absent from that registry of
    ``restorelab.registry`` until ``package`` is imported, and is then the package's ``attribute``.
    (A registry's get() imports its own locations, restorelab.models and
    restorelab.models.converters, so the check sees exactly what restorelab registers itself.)"""
    registries = sorted({registry for registry, _, _ in registered})
    code = '\n'.join(
        [f'from restorelab.registry import {", ".join(registries)}']
        + [f'assert {registry}.get({name!r}) is None, {name!r}' for registry, name, _ in registered]
        + [f'import {package} as plugin']
        + [f'assert {registry}.get({name!r}) is plugin.{attr}, {name!r}' for registry, name, attr in registered])
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
