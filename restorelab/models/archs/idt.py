"""IDT, the Image De-raining Transformer (Xiao et al., TPAMI 2022): a U-shaped
Transformer whose levels pair window Transformer blocks (attention among the
pixels of a window) with a spatial Transformer block (attention among the
windows, each token holding one channel's ``s x s`` window), both with the
"relative position enhanced" attention: a clamped relative-position bias plus a
depth-wise conv over a third projection of the tokens laid out on their grid.

Maths and parameter names follow the official release (jiexiaou/IDT,
``model.py``), so its checkpoints load by identity (converter 'idt'). Defaults
are the deraining model of the release's train/test scripts (embed_dim 32,
depths [3, 3, 2, 2, 1, 1, 2, 2, 3], heads [1, 2, 4, 8, 16, 16, 8, 4, 2],
window 8, 128x128 training patches).

Kept from the release because its weights were trained with them: the spatial
block has no norm before its attention; its output is added to the residual in
window-major token order (token ``i * s*s + p`` = pixel ``p`` of window ``i``),
not in raster order; the spatial window is 8 whatever ``win_size`` is
(``spatial_win_size``); its bias tables have the fixed per-level bounds of the
release (``spatial_k_bounds``), the window blocks' 15x15 (``window_k_bound`` 8);
all window blocks of a level share one drop-path rate (the first of the level's
slice), the spatial block takes the last.

Differences: the release runs only on ``img_size x img_size`` inputs (it
recovers H = W = sqrt(L) and sizes the spatial attention for that grid; its
full-size test tiles 128x128 patches). Here tokens carry their (H, W) and the
spatial attention's relative positions are computed on the actual window grid
with the release's clamp, so any H, W that are multiples of ``size_multiple``
run; at ``img_size x img_size`` the outputs equal the release's. The attention
masks of the release (unused by its scripts: no shifted windows) are not
implemented.
"""
import functools
import math

import torch
import torch.nn as nn

from restorelab.registry import MODELS

from .common import DropPath, trunc_normal_init_, window_partition, window_reverse
# The projections and resamplings are Uformer's (IDT's release is built on Uformer's code).
from .uformer import InputProj, OutputProj, TokenDownsample, TokenUpsample


@functools.lru_cache(maxsize=32)
def clamped_relative_position_index(grid_h, grid_w, k_bound):
    """``(N, N)`` index (``N = grid_h * grid_w``) into a ``(2k-1)^2`` bias table:
    the (dy, dx) offsets between two grid tokens, each clamped to ``|d| <= k-1``."""
    coords = torch.stack(torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing='ij'))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).clamp(-k_bound + 1, k_bound - 1) + (k_bound - 1)
    return rel[0] * (2 * k_bound - 1) + rel[1]


class LinearProjection(nn.Module):
    """Tokens ``(B, N, C)`` -> q, k, v, v_r, each ``(B, heads, N, C/heads)``;
    ``to_kv`` yields k, v and the positional value v_r."""

    def __init__(self, dim, heads, bias=True):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_kv = nn.Linear(dim, dim * 3, bias=bias)

    def forward(self, x):
        b, n, c = x.shape
        q = self.to_q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        kv = self.to_kv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1], kv[2]


class PositionEnhancedAttention(nn.Module):
    """Relative position enhanced multi-head self-attention over tokens laid
    out on a ``(gh, gw)`` grid: ``(B, gh*gw, C) -> same``.

    ``softmax(q k^T * scale + bias) v + PE(v_r)`` then a Linear, where ``bias``
    comes from a ``(2 k_bound - 1)^2`` table indexed by clamped grid offsets and
    ``PE`` is a depth-wise conv (5x5, or smaller for grids under 3 tokens wide at
    construction, ``grid_size``) and a head-grouped 1x1 conv on v_r as a
    ``(B, C, gh, gw)`` map.
    """

    def __init__(self, dim, grid_size, num_heads, qkv_bias=True, qk_scale=None, k_bound=8):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'IDT attention: dim={dim} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.k_bound = k_bound
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * k_bound - 1) ** 2, num_heads))
        reach = min(grid_size - 1, 2)  # the conv's half-width
        self.Position_Extract = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=2 * reach + 1, stride=1, padding=reach, groups=dim),
            nn.Conv2d(dim, dim, kernel_size=1, stride=1, padding=0, groups=num_heads))
        self.qkv = LinearProjection(dim, num_heads, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02, a=-2.0, b=2.0)

    def forward(self, x, grid_h, grid_w):
        b, n, c = x.shape
        q, k, v, v_r = self.qkv(x)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        index = clamped_relative_position_index(grid_h, grid_w, self.k_bound).to(x.device)
        bias = self.relative_position_bias_table[index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
        position = self.Position_Extract(v_r.transpose(-2, -1).reshape(b, c, grid_h, grid_w))
        x = (attn @ v).transpose(1, 2).reshape(b, n, c) + position.reshape(b, c, n).transpose(1, 2)
        return self.proj(x)


class LeFF(nn.Module):
    """IDT's locally-enhanced feed-forward: Linear+GELU, a residual 3x3
    depth-wise conv+GELU on the token grid, Linear. ``(B, H*W, C) -> same``."""

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.linear1 = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU())
        self.dwconv = nn.Sequential(
            nn.Conv2d(hidden_dim, hidden_dim, groups=hidden_dim, kernel_size=3, stride=1, padding=1),
            nn.GELU())
        self.linear2 = nn.Sequential(nn.Linear(hidden_dim, dim))

    def forward(self, x, h, w):
        b = x.shape[0]
        x = self.linear1(x).transpose(1, 2).reshape(b, -1, h, w)
        x = self.dwconv(x) + x
        return self.linear2(x.flatten(2).transpose(1, 2))


class WindowTransformerBlock(nn.Module):
    """Window Transformer block (the release's ``IDTBlock``) on ``(B, H*W, C)``:
    pre-norm position-enhanced attention inside non-overlapping windows, then
    LeFF. When the level's resolution at ``img_size`` is not larger than the
    window, the window shrinks to it (fixed at construction, as in the release)."""

    def __init__(self, dim, input_resolution, num_heads, win_size=8, mlp_ratio=4., qkv_bias=True,
                 qk_scale=None, drop_path=0., k_bound=8):
        super().__init__()
        self.win_size = min(win_size, min(input_resolution))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = PositionEnhancedAttention(dim, self.win_size, num_heads, qkv_bias, qk_scale, k_bound)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = LeFF(dim, int(dim * mlp_ratio))

    def forward(self, x, h, w):
        b, _, c = x.shape
        ws = self.win_size
        windows = window_partition(self.norm1(x).view(b, h, w, c), ws).reshape(-1, ws * ws, c)
        windows = self.attn(windows, ws, ws).reshape(-1, ws, ws, c)
        x = x + self.drop_path(window_reverse(windows, ws, h, w).reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class SpatialTransformerBlock(nn.Module):
    """Spatial Transformer block (the release's ``SpatialTransformerLayer``) on
    ``(B, H*W, C)``: each channel's ``s x s`` windows become tokens of dimension
    ``s*s`` that attend to each other across the image (no norm first), the
    result is added in window-major order, then a pre-norm LeFF of hidden width
    ``s*s * mlp_ratio``. ``input_resolution`` (the level's size at ``img_size``)
    fixes the positional conv's kernel."""

    def __init__(self, channels, input_resolution, num_heads, win_size=8, mlp_ratio=4., qkv_bias=True,
                 qk_scale=None, drop_path=0., k_bound=8):
        super().__init__()
        if min(input_resolution) < win_size:
            raise ValueError(
                f'IDT spatial block: level resolution {tuple(input_resolution)} at img_size is smaller '
                f'than its window {win_size}; raise img_size or lower spatial_win_size')
        self.win_size = win_size
        dim = win_size * win_size
        self.attn = PositionEnhancedAttention(dim, input_resolution[0] // win_size, num_heads, qkv_bias,
                                              qk_scale, k_bound)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = LeFF(channels, int(dim * mlp_ratio))

    def forward(self, x, h, w):
        b, n, c = x.shape
        s = self.win_size
        gh, gw = h // s, w // s
        # (B, C, gh, s, gw, s) -> tokens (B*C, gh*gw windows, s*s pixels), F.unfold's order.
        tokens = x.transpose(1, 2).reshape(b, c, gh, s, gw, s).permute(0, 1, 2, 4, 3, 5)
        tokens = self.attn(tokens.reshape(b * c, gh * gw, s * s), gh, gw)
        y = tokens.reshape(b, c, gh * gw, s * s).permute(0, 2, 3, 1).reshape(b, n, c)  # window-major
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class IDTLayer(nn.Module):
    """One level (the release's ``BasicIDTLayer``): ``depth`` window blocks, then
    a spatial block when ``spatial`` is True. ``(B, H*W, C) -> same``."""

    def __init__(self, dim, input_resolution, depth, num_heads, win_size, drop_path, spatial=True,
                 spatial_win_size=8, spatial_k_bound=8, window_k_bound=8, mlp_ratio=4., qkv_bias=True,
                 qk_scale=None):
        super().__init__()
        args = dict(mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale)
        blocks = [WindowTransformerBlock(dim, input_resolution, num_heads, win_size, drop_path=drop_path[0],
                                         k_bound=window_k_bound, **args) for _ in range(depth)]
        if spatial:
            blocks.append(SpatialTransformerBlock(dim, input_resolution, num_heads, spatial_win_size,
                                                  drop_path=drop_path[-1], k_bound=spatial_k_bound, **args))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, h, w):
        for block in self.blocks:
            x = block(x, h, w)
        return x


@MODELS.register_module()
class IDT(nn.Module):
    """IDT: ``(N, in_chans, H, W) -> (N, in_chans, H, W)``, ``input + residual``.

    Four 2x downsamplings; window blocks at every level and spatial blocks at
    every level but the bottleneck, so H and W must be multiples of
    ``size_multiple`` (128 for the defaults). ``img_size`` is the training patch
    size the model is built for (128 in the release): it fixes the shrunken
    windows and the positional conv kernels, hence the parameter shapes.
    ``spatial_k_bounds`` gives the spatial blocks' bias bounds for encoder
    levels 0-3 then decoder levels 0-3.
    """

    def __init__(self, img_size=128, in_chans=3, embed_dim=32, depths=(3, 3, 2, 2, 1, 1, 2, 2, 3),
                 num_heads=(1, 2, 4, 8, 16, 16, 8, 4, 2), win_size=8, mlp_ratio=4., qkv_bias=True,
                 qk_scale=None, drop_path_rate=0.1, spatial_win_size=8,
                 spatial_k_bounds=(16, 8, 4, 2, 2, 4, 8, 16), window_k_bound=8):
        super().__init__()
        if len(depths) != 9 or len(num_heads) != 9:
            raise ValueError(f'IDT: depths and num_heads need 9 entries (4 encoder levels, bottleneck, '
                             f'4 decoder levels), got {list(depths)}, {list(num_heads)}')
        if len(spatial_k_bounds) != 8:
            raise ValueError(f'IDT: spatial_k_bounds needs 8 entries (encoder levels 0-3, decoder levels '
                             f'0-3), got {list(spatial_k_bounds)}')
        if min(depths) < 1:
            raise ValueError(f'IDT: every level needs at least one window block, got depths={list(depths)}')
        # Stochastic depth as in the release: a linear ramp over the encoder's depths,
        # reversed for the decoder; the bottleneck takes the full rate.
        enc_dpr = torch.linspace(0, drop_path_rate, sum(depths[:4])).tolist()
        dec_dpr = enc_dpr[::-1]
        level_dpr = [enc_dpr[sum(depths[:i]):sum(depths[:i + 1])] for i in range(4)]
        level_dpr.append([drop_path_rate] * depths[4])
        level_dpr += [dec_dpr[sum(depths[5:5 + i]):sum(depths[5:6 + i])] for i in range(4)]
        spatial_k = list(spatial_k_bounds[:4]) + [None] + list(spatial_k_bounds[4:])
        common = dict(win_size=win_size, spatial_win_size=spatial_win_size, window_k_bound=window_k_bound,
                      mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale)

        def layer(i, dim, scale):
            res = img_size // scale
            return IDTLayer(dim, (res, res), depths[i], num_heads[i], drop_path=level_dpr[i],
                            spatial=i != 4, spatial_k_bound=spatial_k[i], **common)

        e = embed_dim
        self.input_proj = InputProj(in_chans, e)
        self.output_proj = OutputProj(2 * e, in_chans)
        self.encoderlayer_0 = layer(0, e, 1)
        self.dowsample_0 = TokenDownsample(e, e * 2)
        self.encoderlayer_1 = layer(1, e * 2, 2)
        self.dowsample_1 = TokenDownsample(e * 2, e * 4)
        self.encoderlayer_2 = layer(2, e * 4, 4)
        self.dowsample_2 = TokenDownsample(e * 4, e * 8)
        self.encoderlayer_3 = layer(3, e * 8, 8)
        self.dowsample_3 = TokenDownsample(e * 8, e * 16)
        self.bottle = layer(4, e * 16, 16)
        self.upsample_0 = TokenUpsample(e * 16, e * 8)
        self.decoderlayer_0 = layer(5, e * 16, 8)
        self.upsample_1 = TokenUpsample(e * 16, e * 4)
        self.decoderlayer_1 = layer(6, e * 8, 4)
        self.upsample_2 = TokenUpsample(e * 8, e * 2)
        self.decoderlayer_2 = layer(7, e * 4, 2)
        self.upsample_3 = TokenUpsample(e * 4, e)
        self.decoderlayer_3 = layer(8, e * 2, 1)
        self.apply(trunc_normal_init_)

        # Every level's windows (and spatial windows) must tile its grid.
        multiple = 16
        for scale, lay in ((1, self.encoderlayer_0), (2, self.encoderlayer_1), (4, self.encoderlayer_2),
                           (8, self.encoderlayer_3), (16, self.bottle)):
            for block in lay.blocks:
                multiple = math.lcm(multiple, scale * block.win_size)
        self.size_multiple = multiple

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f'IDT: input H={h}, W={w} must be multiples of {self.size_multiple}; '
                'pad it (ImageRestorer does this from arch.size_multiple)')
        y = self.input_proj(x)
        enc0 = self.encoderlayer_0(y, h, w)
        enc1 = self.encoderlayer_1(self.dowsample_0(enc0, h, w), h // 2, w // 2)
        enc2 = self.encoderlayer_2(self.dowsample_1(enc1, h // 2, w // 2), h // 4, w // 4)
        enc3 = self.encoderlayer_3(self.dowsample_2(enc2, h // 4, w // 4), h // 8, w // 8)
        bottle = self.bottle(self.dowsample_3(enc3, h // 8, w // 8), h // 16, w // 16)

        d0 = torch.cat([self.upsample_0(bottle, h // 16, w // 16), enc3], -1)
        d0 = self.decoderlayer_0(d0, h // 8, w // 8)
        d1 = torch.cat([self.upsample_1(d0, h // 8, w // 8), enc2], -1)
        d1 = self.decoderlayer_1(d1, h // 4, w // 4)
        d2 = torch.cat([self.upsample_2(d1, h // 4, w // 4), enc1], -1)
        d2 = self.decoderlayer_2(d2, h // 2, w // 2)
        d3 = torch.cat([self.upsample_3(d2, h // 2, w // 2), enc0], -1)
        d3 = self.decoderlayer_3(d3, h, w)
        y = self.output_proj(d3, h, w)
        return x + y


__all__ = ['IDT', 'PositionEnhancedAttention', 'WindowTransformerBlock', 'SpatialTransformerBlock',
           'LeFF', 'clamped_relative_position_index']
