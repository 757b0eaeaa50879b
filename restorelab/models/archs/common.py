"""Blocks shared by several archs: channel layer norms, pixel-(un)shuffle
resampling, window partition, stochastic depth and truncated-normal init.

Parameter names follow the official releases (Restormer, Uformer) so that their
checkpoints load without renaming. The oneDNN 1x1 conv is a setting
(:func:`use_onednn_pointwise`, :func:`set_onednn_pointwise`, :func:`onednn_pointwise`).
"""
import contextlib
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class BiasFreeLayerNorm(nn.Module):
    """Layer norm over the channels of an ``(N, C, H, W)`` map, scale only.

    ``x / sqrt(var_c(x) + eps) * weight``: the mean is *not* subtracted
    (Restormer's 'BiasFree' variant), the variance is the biased one.
    """

    def __init__(self, num_channels, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.eps = eps

    def forward(self, x):
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return x / torch.sqrt(var + self.eps) * self.weight.view(1, -1, 1, 1)


class WithBiasLayerNorm(nn.Module):
    """Standard layer norm over the channels of an ``(N, C, H, W)`` map."""

    def __init__(self, num_channels, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight.view(1, -1, 1, 1) \
            + self.bias.view(1, -1, 1, 1)


LAYER_NORM_TYPES = ('WithBias', 'BiasFree')


class ChannelLayerNorm(nn.Module):
    """Restormer-style layer norm of an ``(N, C, H, W)`` map over ``C``.

    The norm sits under ``.body`` (``norm1.body.weight``), the official layout.
    ``layer_norm_type`` is 'WithBias' or 'BiasFree'. ``fast=True`` normalises the
    ``(N, H, W, C)`` permutation (a free view of a channels-last tensor) in one pass
    instead of the NCHW reductions: the same numbers, the same parameters.
    """

    def __init__(self, num_channels, layer_norm_type='WithBias', fast=False):
        super().__init__()
        if layer_norm_type == 'WithBias':
            self.body = WithBiasLayerNorm(num_channels)
        elif layer_norm_type == 'BiasFree':
            self.body = BiasFreeLayerNorm(num_channels)
        else:
            raise ValueError(
                f'LayerNorm_type must be one of {LAYER_NORM_TYPES}, got {layer_norm_type!r}')
        self.fast = fast

    def forward(self, x):
        if not self.fast:
            return self.body(x)
        pixels = x.permute(0, 2, 3, 1)
        weight, bias = self.body.weight, getattr(self.body, 'bias', None)
        if bias is not None:
            out = F.layer_norm(pixels, pixels.shape[-1:], weight, bias, eps=self.body.eps)
        else:
            var = pixels.var(dim=-1, keepdim=True, unbiased=False)
            out = pixels * torch.rsqrt(var + self.body.eps) * weight
        return out.permute(0, 3, 1, 2)


class PixelUnshuffleDownsample(nn.Module):
    """3x3 conv halving the channels, then pixel-unshuffle by 2:
    ``(N, C, H, W) -> (N, 2C, H/2, W/2)``. H and W must be even."""

    def __init__(self, num_channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_channels, num_channels // 2, 3, 1, 1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x):
        return self.body(x)


class PixelShuffleUpsample(nn.Module):
    """3x3 conv doubling the channels, then pixel-shuffle by 2:
    ``(N, C, H, W) -> (N, C/2, 2H, 2W)``."""

    def __init__(self, num_channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_channels, num_channels * 2, 3, 1, 1, bias=False), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


def window_partition(x, window_size):
    """Split ``(N, H, W, C)`` into non-overlapping windows
    ``(N * H/ws * W/ws, ws, ws, C)``; H and W must be multiples of ``ws``."""
    n, h, w, c = x.shape
    if h % window_size or w % window_size:
        raise ValueError(
            f'window_partition: H={h}, W={w} must be multiples of window_size={window_size}; '
            'pad the input first')
    x = x.reshape(n, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, c)


def window_reverse(windows, window_size, h, w):
    """Inverse of :func:`window_partition`: ``(N*nW, ws, ws, C) -> (N, H, W, C)``."""
    n = windows.shape[0] // ((h // window_size) * (w // window_size))
    x = windows.reshape(n, h // window_size, w // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(n, h, w, -1)


def drop_path(x, drop_prob=0.0, training=False):
    """Stochastic depth: zero whole samples with probability ``drop_prob`` and
    rescale the survivors by ``1 / (1 - drop_prob)``; identity in eval."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = x.new_empty(shape).bernoulli_(keep_prob)
    return x * mask / keep_prob


class DropPath(nn.Module):
    """Module form of :func:`drop_path` (per-sample stochastic depth)."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f'drop_prob={self.drop_prob}'


def trunc_normal_init_(module, std=0.02):
    """Transformer init: Linear weights ~ N(0, std) truncated at +-2 (absolute),
    zero biases; LayerNorm weight 1, bias 0. Apply with ``model.apply``."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=std, a=-2.0, b=2.0)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def count_parameters(module):
    """Number of parameters of ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


__all__ = [
    'BiasFreeLayerNorm', 'WithBiasLayerNorm', 'ChannelLayerNorm', 'LAYER_NORM_TYPES',
    'PixelUnshuffleDownsample', 'PixelShuffleUpsample', 'window_partition', 'window_reverse',
    'drop_path', 'DropPath', 'trunc_normal_init_', 'count_parameters', 'pointwise_conv2d',
    'use_onednn_pointwise', 'set_onednn_pointwise', 'onednn_pointwise', 'CHUNK_BYTES', 'chunk_count',
    'project_channels', 'project_attention',
]


def _env_flag(name, default):
    value = os.environ.get(name, '').strip().lower()
    if not value:
        return default
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError(f'environment variable {name}={os.environ[name]!r}: expected 1/0, true/false, '
                     'yes/no or on/off')


# Whether pointwise_conv2d sends float32 CPU 1x1 convs to oneDNN: a setting, read at every call,
# changed through set_onednn_pointwise / onednn_pointwise (or RESTORELAB_ONEDNN_POINTWISE=0 at start).
_ONEDNN_POINTWISE = _env_flag('RESTORELAB_ONEDNN_POINTWISE', True)


def use_onednn_pointwise():
    """Whether :func:`pointwise_conv2d` calls oneDNN for float32 CPU 1x1 convs (default True;
    ``RESTORELAB_ONEDNN_POINTWISE=0`` in the environment turns it off from the start)."""
    return _ONEDNN_POINTWISE


def set_onednn_pointwise(enable=True):
    """Turn oneDNN 1x1 convs on or off for this process; returns the previous setting."""
    global _ONEDNN_POINTWISE
    previous, _ONEDNN_POINTWISE = _ONEDNN_POINTWISE, bool(enable)
    return previous


@contextlib.contextmanager
def onednn_pointwise(enable):
    """``with onednn_pointwise(False):`` runs the block with PyTorch's own choice for 1x1 convs
    (the setting is restored afterwards, also when the block raises)."""
    previous = set_onednn_pointwise(enable)
    try:
        yield
    finally:
        set_onednn_pointwise(previous)


def _onednn_pointwise(x, weight, bias):
    return torch.ops.aten.mkldnn_convolution(x, weight, bias, (0, 0), (1, 1), (1, 1), 1)


class _PointwiseConv(torch.autograd.Function):
    """A 1x1 conv by oneDNN whose backward avoids PyTorch's one-thread choice as well.

    ``convolution_backward`` makes the same choice as the forward (im2col + BLAS below a batch of 16
    at one thread). Here the input gradient is the 1x1 conv of ``grad_out`` with the transposed
    weight, by oneDNN; the weight gradient is one matrix product of the pixel rows (``grad_out^T x``,
    a view of channels-last tensors; per-sample products summed for NCHW ones); the bias gradient is
    the sum of ``grad_out`` over its pixels. Same functions as ``F.conv2d``'s gradients.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return _onednn_pointwise(x, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        cout, cin = weight.shape[:2]
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        grad_out = grad_out.contiguous(memory_format=torch.channels_last if channels_last
                                       else torch.contiguous_format)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            w_t = weight.reshape(cout, cin).t().contiguous().reshape(cin, cout, 1, 1)
            grad_x = _onednn_pointwise(grad_out, w_t, None)
        if ctx.needs_input_grad[1]:
            if channels_last:
                grad_w = grad_out.permute(0, 2, 3, 1).reshape(-1, cout).t() @ x.permute(0, 2, 3, 1).reshape(-1, cin)
            else:
                n = x.shape[0]
                grad_w = (grad_out.reshape(n, cout, -1) @ x.reshape(n, cin, -1).transpose(1, 2)).sum(0)
            grad_w = grad_w.reshape(weight.shape)
        if ctx.needs_input_grad[2]:  # False when there is no bias
            grad_b = grad_out.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b


def pointwise_conv2d(x, weight, bias=None):
    """``F.conv2d(x, weight, bias)`` for a 1x1 kernel (stride 1, no padding, one group).

    With one thread, PyTorch sends 1x1 convs of batches below 16 to its own im2col + BLAS path (ATen's
    ``use_mkldnn`` heuristic: "THNN is faster when single-threaded"), forward and backward; with two or
    more threads it uses oneDNN. On the CPUs measured (``benchmarks/restormer_ops_speed.py``, rendered in
    docs/performance.md) oneDNN is faster at one thread as well, so float32 CPU convs outside autocast
    call it directly (:func:`use_onednn_pointwise`, a setting), and
    their gradients go through :class:`_PointwiseConv` (the input gradient by oneDNN too). Other dtypes
    (float64, which oneDNN lacks), devices and autocast keep ``F.conv2d``.
    """
    if (_ONEDNN_POINTWISE and x.device.type == 'cpu' and x.dtype == torch.float32
            and weight.dtype == torch.float32 and not torch.is_autocast_enabled('cpu')
            and torch.backends.mkldnn.is_available()):
        if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias)):
            return _PointwiseConv.apply(x, weight, bias)
        return _onednn_pointwise(x, weight, bias)
    return F.conv2d(x, weight, bias)


# Largest intermediate (bytes) one chunk of a fast path creates: glibc serves blocks above its
# largest mmap threshold (32 MB) as fresh mappings, unmapped when freed and page-faulted (zeroed) in
# again at every allocation, so work split into chunks below it reuses freed heap memory instead.
CHUNK_BYTES = 24 * 2 ** 20


def chunk_count(pixels, channels, itemsize, chunk_bytes=CHUNK_BYTES):
    """How many chunks of channels keep a ``pixels x channels`` intermediate of ``itemsize``-byte
    values within ``chunk_bytes`` (at least one, at most one per channel)."""
    # int(): under tracing (FLOP counting) sizes are tensors.
    return max(1, min(channels, -(-int(pixels) * channels * itemsize // chunk_bytes)))


def project_channels(x, pointwise, depthwise, channels):
    """Output channels ``channels`` (a slice) of ``depthwise(pointwise(x))``, a 1x1 conv followed by
    a depth-wise conv (the q/k/v and gate projections of Restormer-style blocks).

    Both convs act per output channel, so a part is its own product and depth-wise conv with those
    rows of the weights: no slices of one full output (whose backward zero-fills the whole tensor
    once per slice)."""
    def pick(t):
        return None if t is None else t[channels]
    y = pointwise_conv2d(x, pick(pointwise.weight), pick(pointwise.bias))
    return F.conv2d(y, pick(depthwise.weight), pick(depthwise.bias), padding=depthwise.padding,
                    groups=y.shape[1])


def project_attention(attn, v, project_out, size, residual=None):
    """``project_out(A v) (+ residual)`` for per-head channel attention, as one product.

    ``attn``: (N, heads, c, c) attention maps (A is block-diagonal over the heads); ``v``: the
    values as (N, H*W, heads*c) rows; ``size``: (H, W). ``project_out(A v) = (W_out A) v``: the
    (C x C) matrix ``W_out A`` is formed per sample (tiny) and applied to the rows of v in one
    batched product, which replaces the attention-times-v products, the head rearrangement and the
    1x1 conv, and adds the residual. Returns a channels-last (N, C, H, W) tensor.
    """
    n, heads, c, _ = attn.shape
    dim = heads * c
    h, w = size
    # Per head, the output projection's columns of that head times its attention map:
    # (heads, C, c) @ (N, heads, c, c) -> (N, heads, C, c) -> (N, C, heads * c).
    w_out = project_out.weight.reshape(dim, heads, c).transpose(0, 1)
    combined = (w_out @ attn).transpose(1, 2).reshape(n, dim, dim)
    if residual is None:
        out = v @ combined.transpose(1, 2)
    else:
        out = torch.baddbmm(residual.permute(0, 2, 3, 1).reshape(n, h * w, dim), v,
                            combined.transpose(1, 2))
    if project_out.bias is not None:
        out = out + project_out.bias
    return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
