"""NeRD-Rain's intra-scale implicit neural representation (INR; left half of the
paper's overview figure, the release's figs/Overview.jpg).

An MLP decodes, at every pixel coordinate of a scale, an RGB residual from the features around
that pixel, the pixel's coordinate relative to the feature grid (with a sin/cos positional
encoding) and the size of a pixel (the "cell"), the form of LIIF (Chen et al., CVPR 2021) that
NeRCo passed on to the release. ``IntraScaleINR`` follows the release
(cschenxiang/NeRD-Rain ``mlp.py``, class ``INR``) exactly, including two facts that make its
coordinates constant (see :meth:`IntraScaleINR.query_rgb`): the INR is queried at the feature
grid's own points, and its local ensemble uses the unshifted query for every neighbour.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# The release's module constants (mlp.py): the MLP's hidden widths and the number of
# positional-encoding frequencies L.
RELEASE_HIDDEN = (256, 256, 256)
RELEASE_FREQUENCIES = 4


def pixel_coordinates(height, width):
    """Centres of a ``height x width`` pixel grid in ``[-1, 1]^2``: ``(height, width, 2)`` float32,
    last axis (row, column) -- the release's ``make_coord`` (LIIF), computed in float32 whatever
    the features' dtype, as the release does."""
    axes = []
    for n in (height, width):
        r = 1 / n  # half a pixel
        axes.append((-1 + r) + (2 * r) * torch.arange(n, dtype=torch.float32))
    return torch.stack(torch.meshgrid(*axes, indexing='ij'), dim=-1)


def positional_encoding(coord, frequencies):
    """``(..., D) -> (..., 2 * D * frequencies)``: for each coordinate d,
    ``[sin(2^k pi x_d) for k < L] + [cos(2^k pi x_d) for k < L]`` (float32 frequencies, as
    released)."""
    freq = 2 ** torch.arange(frequencies, dtype=torch.float32, device=coord.device) * math.pi
    spectrum = coord[..., None] * freq
    encoded = torch.stack([spectrum.sin(), spectrum.cos()], dim=-2)
    return encoded.reshape(*coord.shape[:-1], -1)


class MLP(nn.Module):
    """Linear layers with ReLU between them, ``(..., in_dim) -> (..., out_dim)``; parameters under
    ``layers`` (``layers.0``, ``layers.2``, ... as released)."""

    def __init__(self, in_dim, out_dim, hidden):
        super().__init__()
        layers, last = [], in_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.ReLU()]
            last = width
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class IntraScaleINR(nn.Module):
    """Feature map ``(N, dim, h, w)`` -> RGB residual ``(N, 3, h, w)`` decoded pixel by pixel.

    ``feature_upsample`` brings the scale's bottleneck features ``(N, 4 dim, h/4, w/4)`` to the
    scale's resolution (two pixel-shuffle upsamplings, the release's ``upsmall2mid1/2`` or
    ``upmid2max1/2``) before the INR; ``imnet`` is the MLP (the release's ``INR.imnet``), whose
    input per pixel is ``[3x3 neighbourhood of features (9 dim), relative coordinate and its
    encoding (2 + 4L), relative cell (2)]``. ``fast=True`` evaluates the MLP once for the four
    identical local-ensemble terms (see :meth:`query_rgb`) instead of four times as released: the
    same numbers, bit for bit.
    """

    def __init__(self, dim, hidden=RELEASE_HIDDEN, frequencies=RELEASE_FREQUENCIES, feature_upsample=None,
                 fast=False):
        super().__init__()
        self.fast = fast
        self.frequencies = frequencies
        self.feature_upsample = feature_upsample if feature_upsample is not None else nn.Identity()
        self.imnet = MLP(dim * 9 + 2 + 4 * frequencies + 2, 3, hidden)

    def forward(self, features):
        feat = self.feature_upsample(features)
        return self.query_rgb(feat)

    def encoded_coordinates(self, height, width, device):
        """``(h*w, 2 + 4L)`` float32: each pixel's coordinate followed by its positional encoding."""
        coord = pixel_coordinates(height, width).reshape(-1, 2).to(device)
        return torch.cat([coord, positional_encoding(coord, self.frequencies)], dim=-1)

    def query_rgb(self, feat):
        """The RGB the MLP gives at every pixel centre of ``feat``'s own ``h x w`` grid.

        In LIIF a query point ``x_q`` takes the features of its four nearest grid points
        ``v_a .. v_d`` (the local ensemble), the offsets ``x_q - v``, and mixes the four predictions
        with the area of the rectangle opposite each. The release queries exactly the feature
        grid's points and, although it shifts a copy of the query towards each neighbour, feeds
        every term the unshifted query and the query pixel's own features. So, as released and
        here: the relative coordinate (and the difference of the encodings) is 0, the relative
        cell is ``(2/h * h, 2/w * w)`` (float32 products, 2 up to rounding), the four terms are
        the same MLP evaluation (made four times as released, or once with ``fast``), and their
        weights are the four equal areas (1e-9 each) over their float32 sum.
        """
        n, c, h, w = feat.shape
        # (N, 9c, h*w) -> (N, h*w, 9c): each pixel's 3x3 neighbourhood, channel-major.
        q_feat = F.unfold(feat, 3, padding=1).permute(0, 2, 1)
        query = self.encoded_coordinates(h, w, feat.device)
        grid = self.encoded_coordinates(h, w, feat.device)  # the feature grid's points
        rel_coord = (query - grid).unsqueeze(0).expand(n, -1, -1).clone()
        rel_coord[..., 0] *= h
        rel_coord[..., 1] *= w
        rel_cell = torch.ones(n, h * w, 2, dtype=torch.float32, device=feat.device)
        rel_cell[..., 0] *= 2 / h
        rel_cell[..., 1] *= 2 / w
        rel_cell[..., 0] *= h
        rel_cell[..., 1] *= w
        inp = torch.cat([q_feat, rel_coord.to(feat.dtype), rel_cell.to(feat.dtype)], dim=-1)

        def mlp():
            return self.imnet(inp.reshape(n * h * w, -1)).reshape(n, h * w, -1)

        # The four neighbours' terms (equal, as explained above) and their area weights.
        preds = [mlp()] * 4 if self.fast else [mlp() for _ in range(4)]
        areas = [(rel_coord[..., 0] * rel_coord[..., 1]).abs() + 1e-9 for _ in range(4)]
        total = torch.stack(areas).sum(dim=0)
        out = 0
        for pred, area in zip(preds, areas):
            out = out + pred * (area / total).unsqueeze(-1)
        return out.reshape(n, h, w, -1).permute(0, 3, 1, 2)
