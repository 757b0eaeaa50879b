"""MSPFN's loss: the Charbonnier penalty of the error plus a weighted Charbonnier penalty of
the error's Laplacian (kuijiang94/MSPFN ``model/MSPFN.py``, ``inference_losses``)."""
import torch
import torch.nn.functional as F

from restorelab.registry import MODELS
from .pixel_losses import _PixelLoss

# The release's 3x3 Laplacian, applied to each channel alone with zero ('SAME') padding.
LAPLACIAN_3X3 = ((-1., -1., -1.), (-1., 8., -1.), (-1., -1., -1.))


def laplacian3x3(x):
    """The 3x3 Laplacian of each channel of ``x`` ``(N, C, H, W)``, zero-padded."""
    channels = x.shape[1]
    kernel = torch.tensor(LAPLACIAN_3X3, dtype=x.dtype, device=x.device)
    return F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)


@MODELS.register_module()
class CharbonnierEdgeLoss(_PixelLoss):
    """``mean(rho(d)) + edge_weight * mean(rho(laplacian(d)))`` with ``d = scale * (pred - target)``
    and ``rho(v) = sqrt(v ** 2 + eps ** 2)``.

    MSPFN trains with ``edge_weight=0.05``, ``eps=1e-3`` on images in [-1, 1]: on restorelab's
    [0, 1] images that is ``scale=2`` (the same loss values). Both terms average over the same
    pixels, so ``weight`` (broadcastable to ``(N, C, H, W)``) weights their per-pixel sum.
    """

    def __init__(self, loss_weight=1.0, reduction='mean', edge_weight=0.05, eps=1e-3, scale=1.0):
        super().__init__(loss_weight, reduction)
        for name, value in (('edge_weight', edge_weight), ('eps', eps), ('scale', scale)):
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f'CharbonnierEdgeLoss: {name} must be a number >= 0, got {value!r}')
        self.edge_weight, self.eps, self.scale = float(edge_weight), float(eps), float(scale)

    def elementwise(self, pred, target):
        diff = (pred - target) * self.scale
        edges = laplacian3x3(diff)  # = laplacian(pred) - laplacian(target): it is linear
        eps2 = self.eps * self.eps
        return torch.sqrt(diff * diff + eps2) + self.edge_weight * torch.sqrt(edges * edges + eps2)

    def extra_repr(self):
        return (super().extra_repr() + f', edge_weight={self.edge_weight}, eps={self.eps}, '
                f'scale={self.scale}')
