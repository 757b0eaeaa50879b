"""RCDNet (Wang, Xie, Zhao and Meng, "A Model-driven Deep Neural Network for Single Image
Rain Removal", CVPR 2020): the rain convolutional dictionary network.

The rain convolutional dictionary (RCD) model writes a rainy image ``O`` as a background
``B`` plus rain made of ``N = num_M`` rain maps ``M_n`` convolved with rain kernels ``C_n``::

    O = B + sum_n C_n (*) M_n          (written C (*) M below; C^T (*) is its adjoint)

Proximal gradient descent on ``||O - B - C (*) M||^2 + priors on M and B`` alternates a
gradient step and a proximal step on ``M`` and then on ``B``. RCDNet unfolds ``S`` stages of
it, the proximal operators learned as small ResNets (the M-net and B-net of each stage), the
step sizes ``eta`` and the kernels ``C`` learned too. Stage ``s = 1..S``::

    M-net:  M^(s) = proxNet_M^(s)( M^(s-1) - eta_M^(s) C^T (*) (C (*) M^(s-1) + B^(s-1) - O) )
            R^(s) = C (*) M^(s)                                                 (rain layer)
    B-net:  [B^(s), Z^(s)] = proxNet_B^(s)( [(1 - eta_B^(s)) B^(s-1) + eta_B^(s) (O - R^(s)),
                                              Z^(s-1)] )

``Z`` are ``num_Z`` channels that the B-nets carry from stage to stage beside the three of
``B`` (the dual variable of the supplementary material). Initialisation: ``Z^(0) = w_z (*) O``
(a 3x3 conv initialised as a mean filter), ``[B^(0), Z^(0)] = proxNet_B^(0)([O, Z^(0)])`` and
``M^(0) = 0``, so that stage 1's M-step is
``M^(1) = proxNet_M^(1)( C_0^T (*) relu(O - B^(0) - tau) )``: a soft threshold ``tau`` keeps
the sparse rain of the residual, and stage 1 has its own kernels ``C_0``. After stage ``S``
one more B-net refines ``[B^(S), Z^(S)]``; its first three channels are the output.

A proximal network is ``T = num_blocks`` residual blocks ``x <- relu(x + conv-BN-ReLU-conv-BN(x))``;
the M-net's ends with ``relu(x - tau_M)``, a learned threshold per rain map (sparse maps).

Release: hongwang01/RCDNet at c6e1539 (``RCDNet_code/for_syn/src/model/rcdnet.py``; the
SPA-Data code ``for_spa/src/model/rcdnet.py`` is the same module). Parameter names follow it
(``xnet``, ``x_stage``, ``m_stage``, ``fxnet``, ``weight0``, ``conv``, ``eta2``, ``eta11``,
``eta12``, ``tau``, ``w_z_f``, ``resx1..4``, ``resm1..4``), so that its
``Pretrained Model/*/model_best.pt`` convert with two changes (converter 'rcdnet'):

- the release stores the kernel ``C`` of stages 1..S as ``conv``, ``S - 1`` copies
  ``(S-1, 3, num_M, k, k)`` of which its forward reads only ``conv[1]`` (its comment: "rain
  kernel is inter-stage sharing"); here ``conv`` is that one kernel ``(3, num_M, k, k)``;
- its ``mnet`` (an M-net for the initialisation) and ``eta1`` (an M step size for it) are
  built but never used: they are not here (no parameter without a gradient, so distributed
  training needs no ``find_unused_parameters``).

Other differences from the release, none of them in the maths at test time:

- the release works on pixel values in [0, 255] (its ``rgb_range``), which matters because
  of the biases and thresholds: this arch takes [0, 1] like every restorelab arch and
  multiplies by ``rgb_range`` on the way in and divides on the way out;
- its forward returns ``(B^(0), [B^(1)..B^(S), output], [R^(1)..R^(S)])``; here ``forward``
  returns the output and :meth:`RCDNet.forward_stages` every estimate its loss supervises, the
  rain layers as the backgrounds they imply, ``O - R^(s)`` (the release's
  ``mse(R^(s), O - B)`` is ``mse(O - R^(s), B)``), so that the release's loss is
  ``MultiStageLoss`` over them (configs/rcdnet);
- the release needs ``S >= 3`` (it indexes ``conv[1]`` of ``S - 1`` copies); here any
  ``S >= 1`` runs;
- the release reads its initial kernels from ``init_kernel.mat`` at import time and only
  runs with ``num_M = 32`` and 9x9 kernels (the file's shape). Here the kernels start from
  :func:`init_rain_kernels`, the construction of the release's ``Rainkernel/init_rain_kernel.m``
  for any ``num_M`` and size, which does NOT reproduce the shipped ``init_kernel.mat`` (its
  kernels are shaped otherwise and not normalised; the script that made it is not
  released). ``init_kernel_file`` names the release's file to start training from it
  exactly as the release did; it is read by :meth:`RCDNet.init_weights`, which mmengine's
  runner calls before training only, so inference from a checkpoint never needs it.

The release builds ``eta11``, ``eta12``, ``w_z_f``, the M-nets' ``tau`` and the kernel copies
with ``expand``: under PyTorch 0.4.1, which it requires, every entry of each is one memory
location that its optimizer wrote into, so all entries stay equal (one step size for stages
2..S, one 3x3 filter, one threshold per M-net); newer PyTorch refuses such writes. Here every
entry is a parameter of its own, in the shapes the release declares; its files load as they are.

Kernels and step sizes enter as ``value / 10`` ("for controlling the updating speed", the
release's comment), as in the release.
"""
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS
from restorelab.utils.errors import ModelInitFileError

# Values the release starts its learned scalars from.
ETA_M_INIT = 1.0  # M-step sizes (etaM)
ETA_B_INIT = 5.0  # B-step sizes (etaX)
TAU_INIT = 1.0  # stage-1 rain threshold (taumm)
TAU_M_INIT = 0.5  # M-net output thresholds (Mnet.tau0)
UPDATE_SCALE = 10.0  # kernels and step sizes are used divided by this


def rain_kernel(size, long, inner, std):
    """One initial rain kernel as the release's ``Rainkernel/MyRainK.m`` draws it: a Gaussian
    stretched ``long`` times along the rows (a vertical streak), flat over its central
    ``round(inner * (size-1)/2)`` pixels, normalised to sum 1. ``(size, size)`` float64."""
    half = (size - 1) // 2
    x, y = np.meshgrid(np.arange(-half, half + 1, dtype=np.float64),
                       np.arange(-half, half + 1, dtype=np.float64))
    flat = math.floor(half * inner + 0.5)  # MATLAB round() of a non-negative number
    x = np.sign(x) * (np.maximum(np.abs(x), flat) - flat)
    y = np.sign(y) * (np.maximum(np.abs(y), flat) - flat) / long
    h = np.exp(-(x * x + y * y) / (2 * std * std))
    h[h < np.finfo(np.float64).eps * h.max()] = 0
    return h / h.sum() if h.sum() != 0 else h


def init_rain_kernels(num_M=32, size=9, channels=3):
    """The initial kernels of the release's ``Rainkernel/init_rain_kernel.m``:
    ``(channels, num_M, size, size)`` float32, the same kernel for every colour channel.
    Kernel ``i = 1..12`` is ``MyRainK(size, 2.5 + i/4, 0.1, 0.25)`` (thin streaks), kernel
    ``i = 13..num_M`` is ``MyRainK(size, 2 + i/4, 0.2, 0.5)`` (wide ones)."""
    bank = np.stack([rain_kernel(size, 2.5 + 3 / 12 * i, 0.1, 0.25) if i <= 12
                     else rain_kernel(size, 2 + 3 / 12 * i, 0.2, 0.5)
                     for i in range(1, num_M + 1)])
    return torch.from_numpy(np.ascontiguousarray(np.broadcast_to(bank, (channels, *bank.shape)))).float()


def rcdnet_stage_weights(stages, intermediate=0.1, final=1.0):
    """The weights of the release's loss (``for_syn/src/trainer.py``) on the estimates of
    :meth:`RCDNet.forward_stages`: ``intermediate`` for ``B^(0)``, ``B^(1..S)`` and
    ``O - R^(1..S-1)``, ``final`` for ``O - R^(S)`` (its 0.1 plus the 0.9 it adds) and the
    output."""
    return [intermediate] * (1 + stages) + [intermediate] * (stages - 1) + [final, final]


def load_rain_kernel_file(path, shape):
    """The initial kernels in a ``.mat`` file holding ``C9`` (the release's
    ``init_kernel.mat``), checked against ``shape``; float32."""
    path = Path(path)
    if not path.is_file():
        raise ModelInitFileError(
            f'RCDNet: the initial rain-kernel file {path} does not exist. It is the release\'s '
            'init_kernel.mat (hongwang01/RCDNet, RCDNet_code/for_syn/src/model/init_kernel.mat; '
            'configs/rcdnet/README.md says where to get it and its sha256): put it there, or set '
            "model.arch.init_kernel_file=None to start from init_rain_kernels() instead.")
    import scipy.io  # a dependency of scikit-image; only needed for this file
    try:
        data = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError) as err:
        raise ModelInitFileError(f'RCDNet: cannot read {path} as a MATLAB .mat file ({err})') from None
    if 'C9' not in data:
        keys = sorted(k for k in data if not k.startswith('__'))
        raise ModelInitFileError(f'RCDNet: {path} holds no variable C9 (the release\'s name for the '
                                 f'initial kernels); it holds {keys}')
    kernels = np.asarray(data['C9'])
    if kernels.shape != tuple(shape):
        raise ModelInitFileError(f'RCDNet: C9 in {path} has shape {kernels.shape}; this model needs '
                                 f'{tuple(shape)} (3, num_M, kernel_size, kernel_size)')
    return torch.from_numpy(kernels.astype(np.float32))


def conv_bn(channels):
    return [nn.Conv2d(channels, channels, 3, 1, 1), nn.BatchNorm2d(channels)]


class ProxNet(nn.Module):
    """A learned proximal operator: ``num_blocks`` residual blocks
    ``x <- relu(x + BN(conv(relu(BN(conv(x))))))`` on ``(N, channels, H, W)``, then, when
    ``threshold`` is given, the soft threshold ``relu(x - tau)`` with a learned ``tau`` per
    channel starting at ``threshold``. ``prefix`` names the blocks as the release does."""

    def __init__(self, channels, num_blocks, prefix, threshold=None):
        super().__init__()
        if threshold is not None:
            self.tau = nn.Parameter(torch.full((1, channels, 1, 1), float(threshold)))
        self.block_names = [f'{prefix}{i}' for i in range(1, num_blocks + 1)]
        for name in self.block_names:
            self.add_module(name, nn.Sequential(*conv_bn(channels), nn.ReLU(), *conv_bn(channels)))

    def forward(self, x):
        for name in self.block_names:
            x = F.relu(x + getattr(self, name)(x))
        if hasattr(self, 'tau'):
            x = F.relu(x - self.tau)
        return x


class BNet(ProxNet):
    """proxNet_B: the B-net on ``[B, Z]``, ``(N, 3 + num_Z, H, W)`` (the release's ``Xnet``)."""

    def __init__(self, channels, num_blocks=4):
        super().__init__(channels, num_blocks, 'resx')


class MNet(ProxNet):
    """proxNet_M: the M-net on the rain maps ``(N, num_M, H, W)``, ending with the soft
    threshold of a learned ``tau`` per map: sparse rain maps (the release's ``Mnet``)."""

    def __init__(self, channels, num_blocks=4):
        super().__init__(channels, num_blocks, 'resm', threshold=TAU_M_INIT)


@MODELS.register_module()
class RCDNet(nn.Module):
    """Rain convolutional dictionary network: ``(N, 3, H, W)`` in [0, 1] -> the same, any H, W.

    Args:
        stages: the number of stages S (17 in every command of the release); S - 1 of them
            are the release's iterations (``iter = S - 1``: stage 1 differs, see the module doc).
        num_M: rain maps, i.e. rain kernels (32; the release runs with no other value).
        num_Z: channels the B-nets carry beside B (32).
        num_blocks: residual blocks per proximal network, the paper's T (4; the release's
            ``--T`` option is not read by its nets, which build 4).
        kernel_size: side of the rain kernels (9).
        rgb_range: the pixel range the release computes in (255).
        init_kernel_file: None (start the kernels from :func:`init_rain_kernels`) or the
            release's ``init_kernel.mat``, read by :meth:`init_weights` before training.
    """

    size_multiple = 1

    def __init__(self, stages=17, num_M=32, num_Z=32, num_blocks=4, kernel_size=9, rgb_range=255.0,
                 init_kernel_file=None):
        super().__init__()
        for name, value in (('stages', stages), ('num_M', num_M), ('num_Z', num_Z),
                            ('num_blocks', num_blocks)):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f'RCDNet: {name} must be an int >= 1, got {value!r}')
        if not (isinstance(kernel_size, int) and kernel_size % 2 == 1):
            raise ValueError(f'RCDNet: kernel_size must be an odd int, got {kernel_size!r}')
        self.stages, self.num_M, self.num_Z = stages, num_M, num_Z
        self.kernel_size, self.rgb_range = kernel_size, float(rgb_range)
        self.init_kernel_file = init_kernel_file
        iterations = stages - 1  # stages 2..S

        # Registered in the release's order (its state_dict order, less eta1).
        self.eta2 = nn.Parameter(torch.tensor([ETA_B_INIT]))  # eta_B^(1)
        self.eta11 = nn.Parameter(torch.full((iterations, 1), ETA_M_INIT))  # eta_M^(2..S)
        self.eta12 = nn.Parameter(torch.full((iterations, 1), ETA_B_INIT))  # eta_B^(2..S)
        kernels = init_rain_kernels(num_M, kernel_size)
        self.weight0 = nn.Parameter(kernels.clone())  # C_0: stage 1's M-step
        self.conv = nn.Parameter(kernels.clone())  # C: every other use
        self.w_z_f = nn.Parameter(torch.full((num_Z, 3, 3, 3), 1 / 9))  # Z^(0) = w_z (*) O
        self.tau = nn.Parameter(torch.tensor([TAU_INIT]))  # stage 1's rain threshold
        self.xnet = BNet(3 + num_Z, num_blocks)  # proxNet_B^(0)
        self.x_stage = nn.Sequential(*[BNet(3 + num_Z, num_blocks) for _ in range(stages)])
        self.m_stage = nn.Sequential(*[MNet(num_M, num_blocks) for _ in range(stages)])
        self.fxnet = BNet(3 + num_Z, num_blocks)  # the refinement after stage S

    def init_weights(self):
        """Load ``init_kernel_file`` into ``C_0`` and ``C`` (mmengine's runner calls this
        before training; nothing else does)."""
        if self.init_kernel_file is None:
            return
        kernels = load_rain_kernel_file(self.init_kernel_file, self.conv.shape)
        with torch.no_grad():
            self.weight0.copy_(kernels)
            self.conv.copy_(kernels)

    def rain_layer(self, M):
        """``R = C (*) M``: ``(N, num_M, H, W) -> (N, 3, H, W)``."""
        return F.conv2d(M, self.conv / UPDATE_SCALE, padding=self.kernel_size // 2)

    def rain_adjoint(self, E, kernel):
        """``C^T (*) E``: ``(N, 3, H, W) -> (N, num_M, H, W)``."""
        return F.conv_transpose2d(E, kernel / UPDATE_SCALE, padding=self.kernel_size // 2)

    def b_step(self, bnet, O, B, R, Z, eta_B):
        """``[B, Z] <- proxNet_B([(1 - eta_B) B + eta_B (O - R), Z])``, written as the gradient
        step ``B - eta_B (B - (O - R))``; returns ``(B, Z, [B, Z])``."""
        B_hat = B - eta_B / UPDATE_SCALE * (B - (O - R))
        out = bnet(torch.cat((B_hat, Z), dim=1))
        return out[:, :3], out[:, 3:], out

    def unfold(self, O):
        """The S stages on ``O`` in [0, rgb_range]. Returns ``(B0, Bs, Rs)``: ``B^(0)``,
        ``[B^(1), ..., B^(S), output]`` and ``[R^(1), ..., R^(S)]``, all ``(N, 3, H, W)``."""
        # Initialisation: Z^(0), B^(0); M^(0) = 0.
        Z = F.conv2d(O, self.w_z_f, padding=1)
        out = self.xnet(torch.cat((O, Z), dim=1))
        B0, Z = out[:, :3], out[:, 3:]
        # Stage 1: M-step from M^(0) = 0 on the thresholded residual, with C_0; then the B-step.
        M = self.m_stage[0](self.rain_adjoint(F.relu(O - B0 - self.tau), self.weight0))
        R = self.rain_layer(M)
        B, Z, out = self.b_step(self.x_stage[0], O, B0, R, Z, self.eta2)
        Bs, Rs = [B], [R]
        # Stages 2..S.
        for i in range(self.stages - 1):
            grad_M = self.rain_adjoint(R - (O - B), self.conv)  # C^T (*) (C (*) M - (O - B))
            M = self.m_stage[i + 1](M - self.eta11[i] / UPDATE_SCALE * grad_M)
            R = self.rain_layer(M)
            B, Z, out = self.b_step(self.x_stage[i + 1], O, B, R, Z, self.eta12[i])
            Bs.append(B)
            Rs.append(R)
        Bs.append(self.fxnet(out)[:, :3])
        return B0, Bs, Rs

    def forward_stages(self, inp):
        """Every background estimate the release's loss supervises, in [0, 1] units, 2S + 2 of
        them: ``[B^(0), B^(1), ..., B^(S), O - R^(1), ..., O - R^(S), output]`` (the release's
        loss weighs them 0.1 each but 1 for the last two; :func:`rcdnet_stage_weights`)."""
        scale = self.rgb_range
        O = inp * scale
        B0, Bs, Rs = self.unfold(O)
        return [b / scale for b in [B0, *Bs[:-1], *[O - R for R in Rs], Bs[-1]]]

    def forward(self, inp):
        _, Bs, _ = self.unfold(inp * self.rgb_range)
        return Bs[-1] / self.rgb_range
