"""Depth-wise convolution with a faster weight gradient for kernels larger than 3x3 on CPU."""
import torch
import torch.nn.functional as F


def _weight_grad(x, grad_out, kernel_size, padding, dilation):
    """Gradient of a stride-1 depth-wise conv's weight: (N, C, H, W) x2 -> (C, 1, k, k).

    ``dW[c, i, j] = sum_n,p grad_out[n, c, p] * x_padded[n, c, p + dilation * (i, j)]``: per sample, a
    depth-wise convolution of the input (same padding) with that sample's grad_out as the kernel, at
    stride ``dilation``; the samples' results are summed.
    """
    n, c, h, w = x.shape
    grad_w = 0
    for i in range(n):
        kernels = grad_out[i].contiguous().unsqueeze(1)  # (C, 1, H, W)
        grad_w = grad_w + F.conv2d(x[i:i + 1], kernels, padding=padding, stride=dilation, groups=c)
    return grad_w.reshape(c, 1, kernel_size, kernel_size)


class _DepthwiseConv2d(torch.autograd.Function):
    """Stride-1 depth-wise conv whose weight gradient is computed by :func:`_weight_grad`.

    oneDNN has a depth-wise kernel for the weight gradient of 3x3 convolutions only; larger kernels
    fall back to a grouped convolution with 16x16 weight blocks that is 5-20 times slower than the
    forward (measured: 80 ms against 5 ms for a 5x5 conv on 255 x 128 x 128). The input gradient keeps
    PyTorch's kernel.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.dilation, ctx.has_bias = padding, dilation, bias is not None
        return F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=x.shape[1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        p, d, c = ctx.padding, ctx.dilation, x.shape[1]
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [1, 1], [p, p], [d, d], False, [0, 0], c, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(x, grad_out, weight.shape[-1], p, d)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None, None


def depthwise_conv2d(x, weight, bias=None, padding=0, dilation=1):
    """``F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=C)`` for a square kernel.

    x: (N, C, H, W); weight: (C, 1, k, k); stride 1 and ``padding = dilation * (k // 2)`` (size kept).
    Same forward; when the weight needs a gradient and the kernel is larger than 3x3 (or dilated), the
    backward takes :class:`_DepthwiseConv2d`'s faster weight gradient (not under autocast, whose
    mixed dtypes PyTorch's own backward handles).
    """
    k = weight.shape[-1]
    if torch.is_grad_enabled() and weight.requires_grad and (k > 3 or dilation > 1) \
            and padding == dilation * (k // 2) and not torch.is_autocast_enabled('cpu'):
        return _DepthwiseConv2d.apply(x, weight, bias, padding, dilation)
    return F.conv2d(x, weight, bias, padding=padding, dilation=dilation, groups=x.shape[1])
