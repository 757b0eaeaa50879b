"""The feed-forward networks compared in the paper's Table 3, selected by ``ffn_type``.

* ``'msfn'``: DRSformer's mixed-scale FFN (``msfn.MSFN``, the release's; default).
* ``'gdfn'``: Restormer's gated-Dconv FFN [58], restorelab's own ``GDFN`` (``restorelab.models.archs.
  restormer``): 1x1 expand to 2*hidden, 3x3 depth-wise, GELU(one half) * other half, 1x1 project.
* ``'dfn'``: LocalViT's depth-wise-conv FFN [25] (``DFN``): 1x1 expand to hidden, 3x3 depth-wise,
  GELU, 1x1 project.
* ``'fn'``: ViT's FFN [7] (``FN``): 1x1 expand to hidden, GELU, 1x1 project.

Every variant uses hidden = int(dim * ffn_expansion_factor) (2.66 by default, the release's): MSFN and
GDFN expand to two streams of ``hidden`` channels, DFN and FN to one, as in their own papers. Biases
follow the model's ``bias`` switch (off in the release). The three baselines have one formulation each:
their convs already take the fast channels-last kernels inside a fast DRSformer, and computing GDFN's
two halves from separate projections (the trick TKSA's fast path uses for q, k, v) measured no gain.
"""
import torch.nn as nn
import torch.nn.functional as F

from restorelab.models.archs.restormer import GDFN

from .msfn import MSFN

FFN_TYPES = ('msfn', 'gdfn', 'dfn', 'fn')


class DFN(nn.Module):
    """Depth-wise-conv feed-forward network (LocalViT): (N, dim, H, W) -> (N, dim, H, W).

    ``project_out(GELU(dwconv(project_in(x))))`` with ``hidden = int(dim * expansion)`` channels.
    """

    def __init__(self, dim, expansion=2.66, bias=False):
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.project_out(F.gelu(self.dwconv(self.project_in(x))))


class FN(nn.Module):
    """ViT's feed-forward network on feature maps: (N, dim, H, W) -> (N, dim, H, W).

    ``project_out(GELU(project_in(x)))``, both 1x1 convs (per-pixel linear layers), ``hidden = int(dim *
    expansion)`` channels.
    """

    def __init__(self, dim, expansion=2.66, bias=False):
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, hidden, kernel_size=1, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.project_out(F.gelu(self.project_in(x)))


def build_ffn(ffn_type, dim, expansion=2.66, bias=False, fast=True, device_kernels='auto'):
    """The feed-forward network named ``ffn_type`` (one of ``FFN_TYPES``) for ``dim`` channels
    (``fast`` and ``device_kernels``: MSFN's options)."""
    if ffn_type == 'msfn':
        return MSFN(dim, expansion, bias, fast=fast, device_kernels=device_kernels)
    if ffn_type == 'gdfn':
        return GDFN(dim, expansion, bias)
    if ffn_type == 'dfn':
        return DFN(dim, expansion, bias)
    if ffn_type == 'fn':
        return FN(dim, expansion, bias)
    raise ValueError(f'DRSformer: ffn_type={ffn_type!r}; expected one of {FFN_TYPES} (Table 3 of the paper: '
                     "'msfn' is DRSformer's, the others its baselines)")
