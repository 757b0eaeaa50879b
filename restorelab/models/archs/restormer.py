"""Restormer (Zamir et al., CVPR 2022): a 4-level U-shaped Transformer of
MDTA (channel-wise "transposed" attention) and GDFN (gated depth-wise conv
feed-forward) blocks.

Maths and parameter names follow the official release (swz30/Restormer,
``basicsr/models/archs/restormer_arch.py``), so its checkpoints load by
identity (converter 'restormer'). Constructor arguments keep the official names
(``inp_channels``, ``LayerNorm_type``...) so the release's ``network_g`` options
can be pasted into a config.

Every module has the release's formulation (``forward_plain``, NCHW, module by
module) and, beside it, a faster formulation of the same function
(``forward_fast``: channels-last rows, q/k/v and the GDFN halves as separate
projections, the output projections folded into products that also add the
block's residual, GDFN computed in channel chunks), chosen by ``fast``;
``tests/models/archs/test_restormer_fast.py`` holds them equal. Both use the
same parameters under the same names.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

from .common import (CHUNK_BYTES, ChannelLayerNorm, PixelShuffleUpsample, PixelUnshuffleDownsample,
                     chunk_count, project_attention, project_channels)


class MDTA(nn.Module):
    """Multi-Dconv head Transposed Attention: attention across channels.

    ``(N, C, H, W) -> (N, C, H, W)``; per head, the ``(C/h) x (C/h)`` attention
    map of L2-normalised q and k (over pixels), scaled by a learnt temperature.
    ``fast`` selects :meth:`forward_fast` (the same function) over
    :meth:`forward_plain` (the release's formulation).
    """

    def __init__(self, dim, num_heads, bias, fast=False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'MDTA: dim={dim} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.fast = fast
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(
            dim * 3, dim * 3, kernel_size=3, stride=1, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.forward_fast(x) if self.fast else self.forward_plain(x)

    def forward_plain(self, x):
        """The release's formulation."""
        n, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        # (N, C, H, W) -> (N, heads, C/heads, H*W); channels are split head-major.
        q, k, v = (t.reshape(n, self.num_heads, c // self.num_heads, h * w) for t in (q, k, v))
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        out = attn.softmax(dim=-1) @ v
        return self.project_out(out.reshape(n, c, h, w))

    # The fast path.

    def attention(self, x):
        """Per-head softmax attention maps (N, heads, C/h, C/h) and v as (N, H*W, C) rows.

        ``normalize(q) normalize(k)^T`` is computed as ``(q k^T) / (|q| |k|^T)`` (norms over the
        pixels, each clamped at 1e-12 as ``F.normalize`` does): the same numbers up to rounding,
        without two normalised copies of q and k.
        """
        n, c, h, w = x.shape
        heads = self.num_heads
        q, k, v = (project_channels(x, self.qkv, self.qkv_dwconv, slice(i * c, (i + 1) * c))
                   .permute(0, 2, 3, 1).reshape(n, h * w, c) for i in range(3))
        qn, kn = ((t * t).sum(dim=1).sqrt().clamp_min(1e-12).reshape(n, heads, -1)
                  for t in (q, k))
        q = q.reshape(n, h * w, heads, c // heads).permute(0, 2, 3, 1)  # (n, heads, c/h, hw)
        k = k.reshape(n, h * w, heads, c // heads).permute(0, 2, 1, 3)  # (n, heads, hw, c/h)
        gram = q @ k
        attn = gram / (qn.unsqueeze(-1) * kn.unsqueeze(-2)) * self.temperature
        return attn.softmax(dim=-1), v

    def forward_fast(self, x, residual=None):
        """``forward_plain(x) (+ residual)``; fastest on channels-last input. The attention's
        output projection is folded into one product with v (:func:`project_attention`).
        Returns a channels-last tensor."""
        attn, v = self.attention(x)
        return project_attention(attn, v, self.project_out, x.shape[2:], residual)


class GDFN(nn.Module):
    """Gated-Dconv Feed-forward Network: ``(N, C, H, W) -> (N, C, H, W)``,
    hidden width ``int(C * ffn_expansion_factor)``, GELU gate on one half.
    ``fast`` selects :meth:`forward_fast` (the same function)."""

    chunk_bytes = CHUNK_BYTES  # the largest intermediate one chunk of the fast path creates

    def __init__(self, dim, ffn_expansion_factor, bias, fast=False):
        super().__init__()
        hidden = int(dim * ffn_expansion_factor)
        self.hidden_features = hidden
        self.fast = fast
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(
            hidden * 2, hidden * 2, kernel_size=3, stride=1, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.forward_fast(x) if self.fast else self.forward_plain(x)

    def forward_plain(self, x):
        """The release's formulation."""
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)

    # The fast path.

    def chunks(self, x):
        """Hidden-channel ranges ``[(start, stop), ...]`` whose intermediates stay within
        ``chunk_bytes`` for input ``x`` (one range when everything fits)."""
        n, _, h, w = x.shape
        hidden = self.hidden_features
        count = chunk_count(n * h * w, hidden, x.element_size(), self.chunk_bytes)
        bounds = [round(i * hidden / count) for i in range(count + 1)]
        return list(zip(bounds[:-1], bounds[1:]))

    def forward_fast(self, x, residual=None):
        """``forward_plain(x) (+ residual)``; fastest on channels-last input.

        The hidden channels are taken in chunks (:meth:`chunks`): per chunk, the gate half and the
        value half are their own products and depth-wise convs (rows of ``project_in``/``dwconv``),
        gated (in place without autograd), and their share of ``project_out`` is accumulated onto
        the residual as a matrix product over the channels-last rows. Same multiply-adds as the
        release. Returns a channels-last tensor.
        """
        n, c, h, w = x.shape
        hidden = self.hidden_features
        w_out = self.project_out.weight.reshape(c, hidden)
        out = None if residual is None else residual.permute(0, 2, 3, 1).reshape(n * h * w, c)
        first = True
        for start, stop in self.chunks(x):
            gate = project_channels(x, self.project_in, self.dwconv, slice(start, stop))
            value = project_channels(x, self.project_in, self.dwconv,
                                     slice(hidden + start, hidden + stop))
            if torch.is_grad_enabled():
                gated = F.gelu(gate) * value
            else:
                gated = torch.ops.aten.gelu_(gate).mul_(value)
            rows = gated.permute(0, 2, 3, 1).reshape(n * h * w, stop - start)
            weight = w_out[:, start:stop].t()
            if first:  # the first chunk starts from the residual (never written in place)
                out = rows @ weight if out is None else torch.addmm(out, rows, weight)
                first = False
            else:
                # In-place products are not autocast: the weight follows the rows (bfloat16 under
                # autocast).
                out = out.addmm_(rows, weight.to(rows.dtype))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, c).permute(0, 3, 1, 2)


class RestormerBlock(nn.Module):
    """Pre-norm Transformer block: ``x + MDTA(LN(x))`` then ``x + GDFN(LN(x))``.

    ``fast=True``: the fast path of every module, with the residual additions inside MDTA's
    and GDFN's last products."""

    def __init__(self, dim, num_heads, ffn_expansion_factor, bias, layer_norm_type, fast=False):
        super().__init__()
        self.fast = fast
        self.norm1 = ChannelLayerNorm(dim, layer_norm_type, fast=fast)
        self.attn = MDTA(dim, num_heads, bias, fast=fast)
        self.norm2 = ChannelLayerNorm(dim, layer_norm_type, fast=fast)
        self.ffn = GDFN(dim, ffn_expansion_factor, bias, fast=fast)

    def forward(self, x):
        if not self.fast:
            x = x + self.attn(self.norm1(x))
            return x + self.ffn(self.norm2(x))
        x = self.attn.forward_fast(self.norm1(x), residual=x)
        return self.ffn.forward_fast(self.norm2(x), residual=x)


class OverlapPatchEmbed(nn.Module):
    """3x3 conv embedding ``(N, in_c, H, W) -> (N, embed_dim, H, W)`` (no bias,
    as released: the official code never passes ``bias`` to it)."""

    def __init__(self, in_channels, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=3, stride=1, padding=1, bias=False)

    def forward(self, x):
        return self.proj(x)


def _stage(num_blocks, dim, num_heads, ffn_expansion_factor, bias, layer_norm_type, fast):
    return nn.Sequential(*[
        RestormerBlock(dim, num_heads, ffn_expansion_factor, bias, layer_norm_type, fast)
        for _ in range(num_blocks)
    ])


@MODELS.register_module()
class Restormer(nn.Module):
    """Restormer: ``(N, inp_channels, H, W) -> (N, out_channels, H, W)``.

    H and W must be multiples of 8 (three 2x downsamplings): ``size_multiple``
    tells the restorer to pad. Defaults are the released deraining model
    (26,126,644 parameters). The output is ``conv(features) + input`` (global
    residual), except with ``dual_pixel_task=True`` (6-channel dual-pixel
    defocus input), where a skip conv replaces the residual.
    """

    size_multiple = 8

    def __init__(self,
                 inp_channels=3,
                 out_channels=3,
                 dim=48,
                 num_blocks=(4, 6, 6, 8),
                 num_refinement_blocks=4,
                 heads=(1, 2, 4, 8),
                 ffn_expansion_factor=2.66,
                 bias=False,
                 LayerNorm_type='WithBias',  # noqa: N803 (official option name)
                 dual_pixel_task=False,
                 fast=True):
        super().__init__()
        if len(num_blocks) != 4 or len(heads) != 4:
            raise ValueError(
                f'Restormer: num_blocks and heads need 4 entries (one per level), '
                f'got num_blocks={list(num_blocks)}, heads={list(heads)}')
        if not dual_pixel_task and inp_channels != out_channels:
            raise ValueError(
                f'Restormer: the global residual needs inp_channels == out_channels, got '
                f'{inp_channels} and {out_channels} (set dual_pixel_task=True for 6-channel input)')
        stage_args = dict(ffn_expansion_factor=ffn_expansion_factor, bias=bias,
                          layer_norm_type=LayerNorm_type, fast=fast)
        self.fast = fast
        d1, d2, d3, d4 = dim, dim * 2, dim * 4, dim * 8

        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = _stage(num_blocks[0], d1, heads[0], **stage_args)
        self.down1_2 = PixelUnshuffleDownsample(d1)
        self.encoder_level2 = _stage(num_blocks[1], d2, heads[1], **stage_args)
        self.down2_3 = PixelUnshuffleDownsample(d2)
        self.encoder_level3 = _stage(num_blocks[2], d3, heads[2], **stage_args)
        self.down3_4 = PixelUnshuffleDownsample(d3)
        self.latent = _stage(num_blocks[3], d4, heads[3], **stage_args)

        self.up4_3 = PixelShuffleUpsample(d4)
        self.reduce_chan_level3 = nn.Conv2d(d4, d3, kernel_size=1, bias=bias)
        self.decoder_level3 = _stage(num_blocks[2], d3, heads[2], **stage_args)
        self.up3_2 = PixelShuffleUpsample(d3)
        self.reduce_chan_level2 = nn.Conv2d(d3, d2, kernel_size=1, bias=bias)
        self.decoder_level2 = _stage(num_blocks[1], d2, heads[1], **stage_args)
        # Level 1 keeps the concatenated 2*dim channels (no 1x1 reduction).
        self.up2_1 = PixelShuffleUpsample(d2)
        self.decoder_level1 = _stage(num_blocks[0], d2, heads[0], **stage_args)
        self.refinement = _stage(num_refinement_blocks, d2, heads[0], **stage_args)

        self.dual_pixel_task = dual_pixel_task
        if dual_pixel_task:
            self.skip_conv = nn.Conv2d(d1, d2, kernel_size=1, bias=bias)
        self.output = nn.Conv2d(d2, out_channels, kernel_size=3, stride=1, padding=1, bias=bias)

    def forward(self, inp_img):
        h, w = inp_img.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(
                f'Restormer: input H={h}, W={w} must be multiples of {self.size_multiple}; '
                'pad it (ImageRestorer does this from arch.size_multiple)')
        if self.fast:
            # Channels-last end to end: the depth-wise and 1x1 convs take their fast kernels,
            # and each pixel's channels (layer norms, products over channels) are contiguous.
            inp_img = inp_img.contiguous(memory_format=torch.channels_last)
        emb = self.patch_embed(inp_img)
        enc1 = self.encoder_level1(emb)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        latent = self.latent(self.down3_4(enc3))

        dec3 = self.reduce_chan_level3(torch.cat([self.up4_3(latent), enc3], 1))
        dec3 = self.decoder_level3(dec3)
        dec2 = self.reduce_chan_level2(torch.cat([self.up3_2(dec3), enc2], 1))
        dec2 = self.decoder_level2(dec2)
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], 1))
        dec1 = self.refinement(dec1)

        if self.dual_pixel_task:
            out = self.output(dec1 + self.skip_conv(emb))
        else:
            out = self.output(dec1) + inp_img
        return out.contiguous() if self.fast else out
