"""Uformer (Wang et al., CVPR 2022): a U-shaped Transformer of LeWin blocks
(non-overlapping window self-attention with relative position bias, shifted
every other block, and a locally-enhanced feed-forward with a depth-wise conv),
with learnable window "modulators" in the decoder.

Maths and parameter names follow the official release (ZhendongWang6/Uformer,
``model.py``), so its checkpoints load by identity (converter 'uformer').
Defaults are Uformer-B (embed_dim 32, depths [1, 2, 8, 8, 2, 8, 8, 2, 1],
window 8, modulators), the variant of the deraining comparisons.

Differences from the release: tokens carry their (H, W), so non-square inputs
work (the release recovers H = W = sqrt(L) and only runs on squares, which its
test scripts pad to); the attention mask for padded pixels that the release's
test scripts pass is not supported (ImageRestorer pads by reflection instead);
'conv' token projection, 'fastleff' and the cross-modulator are not implemented.
"""
import math

import torch
import torch.nn as nn

from restorelab.registry import MODELS

from .common import DropPath, trunc_normal_init_, window_partition, window_reverse


class LinearProjection(nn.Module):
    """Tokens ``(B, N, C)`` -> q, k, v ``(B, heads, N, C/heads)`` by two Linears."""

    def __init__(self, dim, heads, bias=True):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_kv = nn.Linear(dim, dim * 2, bias=bias)

    def forward(self, x):
        b, n, c = x.shape
        q = self.to_q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        kv = self.to_kv(x).reshape(b, n, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1]


def relative_position_index(win_size):
    """``(ws*ws, ws*ws)`` index into the ``(2ws-1)^2`` relative-bias table (Swin layout)."""
    coords = torch.stack(torch.meshgrid(torch.arange(win_size), torch.arange(win_size), indexing='ij'))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (win_size - 1)
    return rel[:, :, 0] * (2 * win_size - 1) + rel[:, :, 1]


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a learnt relative
    position bias: windows ``(B*nW, ws*ws, C)`` -> same shape."""

    def __init__(self, dim, win_size, num_heads, qkv_bias=True, qk_scale=None, attn_drop=0.,
                 proj_drop=0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'WindowAttention: dim={dim} is not divisible by num_heads={num_heads}')
        self.win_size = win_size
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * win_size - 1) ** 2, num_heads))
        # Persistent, as in the release, whose checkpoints hold it.
        self.register_buffer('relative_position_index', relative_position_index(win_size))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02, a=-2.0, b=2.0)
        self.qkv = LinearProjection(dim, num_heads, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x, mask=None):
        b, n, c = x.shape
        q, k, v = self.qkv(x)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:  # (nW, N, N): 0 inside a shifted region, -100 across regions
            num_windows = mask.shape[0]
            attn = attn.view(b // num_windows, num_windows, self.num_heads, n, n) + mask[None, :, None]
            attn = attn.view(b, self.num_heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


class LeFF(nn.Module):
    """Locally-enhanced feed-forward: Linear+GELU, 3x3 depth-wise conv+GELU on the
    token grid, Linear. Tokens ``(B, H*W, C)`` -> same shape."""

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.linear1 = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU())
        self.dwconv = nn.Sequential(
            nn.Conv2d(hidden_dim, hidden_dim, groups=hidden_dim, kernel_size=3, stride=1, padding=1),
            nn.GELU())
        self.linear2 = nn.Sequential(nn.Linear(hidden_dim, dim))

    def forward(self, x, h, w):
        b = x.shape[0]
        x = self.linear1(x)
        x = x.transpose(1, 2).reshape(b, -1, h, w)
        x = self.dwconv(x).flatten(2).transpose(1, 2)
        return self.linear2(x)


class Mlp(nn.Module):
    """Plain token MLP (``token_mlp='mlp'``): Linear, GELU, Linear."""

    def __init__(self, dim, hidden_dim, drop=0.):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x, h, w):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def shifted_window_mask(h, w, win_size, shift_size, device):
    """``(nW, ws*ws, ws*ws)`` additive mask (0 / -100) that keeps the cyclically
    shifted windows from attending across the seams of the roll."""
    regions = torch.zeros(1, h, w, 1, device=device)
    bounds = (slice(0, -win_size), slice(-win_size, -shift_size), slice(-shift_size, None))
    label = 0
    for hs in bounds:
        for ws in bounds:
            regions[:, hs, ws, :] = label
            label += 1
    windows = window_partition(regions, win_size).reshape(-1, win_size * win_size)
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class LeWinBlock(nn.Module):
    """LeWin Transformer block on tokens ``(B, H*W, C)``: (shifted) window
    attention with an optional modulator added to the windows' queries/keys/values
    input, then LeFF; pre-norm residuals with stochastic depth.

    As in the release, when the level's resolution ``input_resolution`` (set by
    ``img_size``) is not larger than the window, the window shrinks to it and the
    shift is dropped; this is fixed at construction.
    """

    def __init__(self, dim, input_resolution, num_heads, win_size=8, shift_size=0, mlp_ratio=4.,
                 qkv_bias=True, qk_scale=None, drop=0., attn_drop=0., drop_path=0.,
                 token_mlp='leff', modulator=False):
        super().__init__()
        self.shift_size = shift_size
        self.win_size = win_size
        if min(input_resolution) <= win_size:
            self.shift_size = 0
            self.win_size = min(input_resolution)
        if not 0 <= self.shift_size < self.win_size:
            raise ValueError(f'shift_size={self.shift_size} must be in [0, win_size={self.win_size})')
        if modulator and self.win_size != win_size:
            raise ValueError(
                f'LeWinBlock: a modulator needs {win_size}x{win_size} windows but this level is '
                f'{tuple(input_resolution)}; raise img_size or set modulator=False')
        self.modulator = nn.Embedding(win_size * win_size, dim) if modulator else None
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, self.win_size, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        if token_mlp == 'leff':
            self.mlp = LeFF(dim, hidden)
        elif token_mlp in ('mlp', 'ffn'):
            self.mlp = Mlp(dim, hidden, drop)
        else:
            raise ValueError(f"token_mlp must be 'leff', 'mlp' or 'ffn', got {token_mlp!r}")

    def forward(self, x, h, w):
        b, _, c = x.shape
        ws, shift = self.win_size, self.shift_size
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        mask = None
        if shift > 0:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            mask = shifted_window_mask(h, w, ws, shift, x.device).to(x.dtype)
        windows = window_partition(x, ws).reshape(-1, ws * ws, c)
        if self.modulator is not None:
            windows = windows + self.modulator.weight
        windows = self.attn(windows, mask=mask).reshape(-1, ws, ws, c)
        x = window_reverse(windows, ws, h, w)
        if shift > 0:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        x = shortcut + self.drop_path(x.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class UformerLayer(nn.Module):
    """``depth`` LeWin blocks; odd-indexed ones shifted by half a window when
    ``shift_flag``. Tokens ``(B, H*W, C)`` -> same shape."""

    def __init__(self, dim, input_resolution, depth, num_heads, win_size, drop_path, shift_flag=True,
                 modulator=False, **block_args):
        super().__init__()
        self.blocks = nn.ModuleList([
            LeWinBlock(dim, input_resolution, num_heads, win_size,
                       shift_size=win_size // 2 if shift_flag and i % 2 else 0,
                       drop_path=drop_path[i], modulator=modulator, **block_args)
            for i in range(depth)])

    def forward(self, x, h, w):
        for block in self.blocks:
            x = block(x, h, w)
        return x


class TokenDownsample(nn.Module):
    """4x4 stride-2 conv on the token grid: ``(B, H*W, C) -> (B, H/2*W/2, C')``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1))

    def forward(self, x, h, w):
        x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        return self.conv(x).flatten(2).transpose(1, 2)


class TokenUpsample(nn.Module):
    """2x2 stride-2 transposed conv: ``(B, H*W, C) -> (B, 2H*2W, C')``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.deconv = nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2))

    def forward(self, x, h, w):
        x = x.transpose(1, 2).reshape(x.shape[0], -1, h, w)
        return self.deconv(x).flatten(2).transpose(1, 2)


class InputProj(nn.Module):
    """3x3 conv + LeakyReLU: ``(B, C_in, H, W) -> (B, H*W, C)``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1), nn.LeakyReLU(inplace=True))

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class OutputProj(nn.Module):
    """3x3 conv: ``(B, H*W, C) -> (B, C_out, H, W)``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1))

    def forward(self, x, h, w):
        return self.proj(x.transpose(1, 2).reshape(x.shape[0], -1, h, w))


@MODELS.register_module()
class Uformer(nn.Module):
    """Uformer: ``(N, dd_in, H, W) -> (N, in_chans, H, W)``, output
    ``input + residual`` when ``dd_in == 3``.

    Four 2x downsamplings and windows of ``win_size`` at every level: H and W
    must be multiples of ``size_multiple`` (128 for Uformer-B). ``img_size`` is
    the training patch size the release builds the model with (``train_ps``,
    128): it fixes which levels shrink their window (at 128 the bottleneck
    runs unshifted 8x8 windows).
    """

    def __init__(self, img_size=128, in_chans=3, dd_in=3, embed_dim=32,
                 depths=(1, 2, 8, 8, 2, 8, 8, 2, 1), num_heads=(1, 2, 4, 8, 16, 16, 8, 4, 2),
                 win_size=8, mlp_ratio=4., qkv_bias=True, qk_scale=None, drop_rate=0.,
                 attn_drop_rate=0., drop_path_rate=0.1, token_projection='linear', token_mlp='leff',
                 shift_flag=True, modulator=True, cross_modulator=False):
        super().__init__()
        if len(depths) != 9 or len(num_heads) != 9:
            raise ValueError(f'Uformer: depths and num_heads need 9 entries (4 encoder levels, '
                             f'bottleneck, 4 decoder levels), got {list(depths)}, {list(num_heads)}')
        if token_projection != 'linear':
            raise ValueError(f"Uformer: only token_projection='linear' is implemented, got {token_projection!r}")
        if cross_modulator:
            raise ValueError('Uformer: cross_modulator=True is not implemented')
        self.dd_in = dd_in
        self.pos_drop = nn.Dropout(p=drop_rate)
        enc_dpr = torch.linspace(0, drop_path_rate, sum(depths[:4])).tolist()
        dec_dpr = enc_dpr[::-1]
        level_dpr = [enc_dpr[sum(depths[:i]):sum(depths[:i + 1])] for i in range(4)]
        level_dpr.append([drop_path_rate] * depths[4])
        level_dpr += [dec_dpr[sum(depths[5:5 + i]):sum(depths[5:6 + i])] for i in range(4)]
        block_args = dict(mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale, drop=drop_rate,
                          attn_drop=attn_drop_rate, token_mlp=token_mlp)

        def layer(i, dim, scale, mod=False):
            res = img_size // scale
            return UformerLayer(dim, (res, res), depths[i], num_heads[i], win_size, level_dpr[i],
                                shift_flag=shift_flag, modulator=mod, **block_args)

        e = embed_dim
        self.input_proj = InputProj(dd_in, e)
        self.output_proj = OutputProj(2 * e, in_chans)
        self.encoderlayer_0 = layer(0, e, 1)
        self.dowsample_0 = TokenDownsample(e, e * 2)
        self.encoderlayer_1 = layer(1, e * 2, 2)
        self.dowsample_1 = TokenDownsample(e * 2, e * 4)
        self.encoderlayer_2 = layer(2, e * 4, 4)
        self.dowsample_2 = TokenDownsample(e * 4, e * 8)
        self.encoderlayer_3 = layer(3, e * 8, 8)
        self.dowsample_3 = TokenDownsample(e * 8, e * 16)
        self.conv = layer(4, e * 16, 16)
        self.upsample_0 = TokenUpsample(e * 16, e * 8)
        self.decoderlayer_0 = layer(5, e * 16, 8, modulator)
        self.upsample_1 = TokenUpsample(e * 16, e * 4)
        self.decoderlayer_1 = layer(6, e * 8, 4, modulator)
        self.upsample_2 = TokenUpsample(e * 8, e * 2)
        self.decoderlayer_2 = layer(7, e * 4, 2, modulator)
        self.upsample_3 = TokenUpsample(e * 4, e)
        self.decoderlayer_3 = layer(8, e * 2, 1, modulator)
        self.apply(trunc_normal_init_)

        # Each level's windows must tile its grid: the input must be a multiple of
        # 2**level * (that level's window) for every level.
        multiple = 1
        for scale, lay in ((1, self.encoderlayer_0), (2, self.encoderlayer_1), (4, self.encoderlayer_2),
                           (8, self.encoderlayer_3), (16, self.conv)):
            for block in lay.blocks:
                multiple = math.lcm(multiple, scale * block.win_size)
        self.size_multiple = math.lcm(multiple, 16)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f'Uformer: input H={h}, W={w} must be multiples of {self.size_multiple}; '
                'pad it (ImageRestorer does this from arch.size_multiple)')
        y = self.pos_drop(self.input_proj(x))
        conv0 = self.encoderlayer_0(y, h, w)
        conv1 = self.encoderlayer_1(self.dowsample_0(conv0, h, w), h // 2, w // 2)
        conv2 = self.encoderlayer_2(self.dowsample_1(conv1, h // 2, w // 2), h // 4, w // 4)
        conv3 = self.encoderlayer_3(self.dowsample_2(conv2, h // 4, w // 4), h // 8, w // 8)
        conv4 = self.conv(self.dowsample_3(conv3, h // 8, w // 8), h // 16, w // 16)

        d0 = torch.cat([self.upsample_0(conv4, h // 16, w // 16), conv3], -1)
        d0 = self.decoderlayer_0(d0, h // 8, w // 8)
        d1 = torch.cat([self.upsample_1(d0, h // 8, w // 8), conv2], -1)
        d1 = self.decoderlayer_1(d1, h // 4, w // 4)
        d2 = torch.cat([self.upsample_2(d1, h // 4, w // 4), conv1], -1)
        d2 = self.decoderlayer_2(d2, h // 2, w // 2)
        d3 = torch.cat([self.upsample_3(d2, h // 2, w // 2), conv0], -1)
        d3 = self.decoderlayer_3(d3, h, w)
        y = self.output_proj(d3, h, w)
        return x + y if self.dd_in == 3 else y


__all__ = ['Uformer', 'LeWinBlock', 'WindowAttention', 'LeFF']
