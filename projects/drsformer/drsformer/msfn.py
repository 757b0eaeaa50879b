"""Mixed-scale feed-forward network (MSFN) of DRSformer (paper Eq. 7, in the official release's form)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.models.archs.common import CHUNK_BYTES, chunk_count

from .fast_kernels import (PairSumReLU, check_device_kernels, chunk_plans, cpu_kernels, depthwise_conv2d,
                           pair_sum_relu, pointwise_conv2d)


class MSFN(nn.Module):
    """Mixed-scale feed-forward network: (N, dim, H, W) -> (N, dim, H, W).

    A 1x1 conv expands to 2*hidden channels (hidden = int(dim * expansion)); parallel 3x3 and 5x5
    depth-wise convs with ReLU each give two halves (a3, b3) and (a5, b5); [a3, a5] goes through a
    grouped 3x3 conv and [b3, b5] through a grouped 5x5 conv (hidden groups of 2 input channels,
    ReLU); their concatenation is projected back to dim by a 1x1 conv. Parameter names follow the
    release.

    ``fast=False`` runs exactly that (``forward_plain``). ``fast=True`` (``forward_fast``) adds the
    block's residual; on the CPU (``device_kernels``: 'auto' with a CPU tensor, or 'cpu') it computes
    the same function without the grouped convs (a slow path on CPU) and the chunk/cat copies
    (``forward_cpu``), elsewhere with the release's operations (nothing else measured there yet).
    """

    def __init__(self, dim, expansion=2.66, bias=False, fast=True, device_kernels='auto'):
        super().__init__()
        hidden = int(dim * expansion)
        self.hidden_features = hidden
        self.fast = fast
        self.device_kernels = check_device_kernels(device_kernels)
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.dwconv5x5 = nn.Conv2d(hidden * 2, hidden * 2, 5, padding=2, groups=hidden * 2, bias=bias)
        self.dwconv3x3_1 = nn.Conv2d(hidden * 2, hidden, 3, padding=1, groups=hidden, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(hidden * 2, hidden, 5, padding=2, groups=hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden * 2, dim, kernel_size=1, bias=bias)
        self._plans = {}

    def forward(self, x):
        """(N, dim, H, W) -> (N, dim, H, W)."""
        return self.forward_fast(x) if self.fast else self.forward_plain(x)

    def forward_plain(self, x):
        """The release's formulation."""
        x = self.project_in(x)
        a3, b3 = F.relu(self.dwconv3x3(x)).chunk(2, dim=1)
        a5, b5 = F.relu(self.dwconv5x5(x)).chunk(2, dim=1)
        x3 = F.relu(self.dwconv3x3_1(torch.cat([a3, a5], dim=1)))
        x5 = F.relu(self.dwconv5x5_1(torch.cat([b3, b5], dim=1)))
        return self.project_out(torch.cat([x3, x5], dim=1))

    chunk_bytes = CHUNK_BYTES  # the largest intermediate one chunk of the fast path creates

    def plans(self, pixels, itemsize):
        """The chunk plans for ``pixels`` (N*H*W) values of ``itemsize`` bytes per hidden channel."""
        chunks = chunk_count(pixels, self.hidden_features, itemsize, self.chunk_bytes)
        if chunks not in self._plans:
            self._plans[chunks] = chunk_plans(self.hidden_features, chunks)
        return self._plans[chunks]

    def forward_fast(self, x, residual=None):
        """``forward_plain(x) (+ residual)``: ``forward_cpu`` on the CPU, the release's operations
        elsewhere."""
        if cpu_kernels(self.device_kernels, x):
            return self.forward_cpu(x, residual)
        out = self.forward_plain(x)
        return out if residual is None else out + residual

    def forward_cpu(self, x, residual=None):
        """``forward_plain(x) (+ residual)`` without grouped convs, chunk/cat copies or padding.

        The outputs of each half's grouped conv are split into chunks (``chunk_plans``; one chunk unless
        an intermediate would exceed ``chunk_bytes``), each computed from only the expanded channels it
        reads, ordered evens then odds: a product with those rows of the 1x1 input conv, the 3x3 and 5x5
        depth-wise convs, then per channel the grouped conv's kernel for that input (a depth-wise conv);
        the grouped conv's sums of two inputs become additions of aligned channel ranges
        (``PairSumReLU``, with bias and ReLU), and the 1x1 output conv is accumulated chunk by chunk
        onto the residual. Same multiply-adds as the release. The fused weights are gathered from the
        release's parameters in every forward (gradients flow to them). Fastest on channels-last input.
        """
        n, dim, h, w = x.shape
        hid = self.hidden_features
        out = None
        w_in, b_in = self.project_in.weight, self.project_in.bias
        w_out = self.project_out.weight.reshape(dim, 2 * hid)
        rows_res = None if residual is None else residual.permute(0, 2, 3, 1).reshape(n * h * w, dim)
        stage2 = (self.dwconv3x3_1, self.dwconv5x5_1)

        def pick(t, idx):
            return None if t is None else t.index_select(0, idx)

        for half in (0, 1):  # 0: the grouped 3x3 conv's inputs, 1: the grouped 5x5 conv's
            grouped = stage2[half]
            kernels = grouped.weight.reshape(2 * hid, 1, *grouped.kernel_size)
            for plan in self.plans(n * h * w, x.element_size()):
                order, outputs = plan.order.to(x.device), plan.outputs.to(x.device)
                idx = order + half * hid
                expanded = pointwise_conv2d(x, w_in.index_select(0, idx), pick(b_in, idx))
                terms = []
                for t, conv in enumerate((self.dwconv3x3, self.dwconv5x5)):
                    p = F.relu_(depthwise_conv2d(expanded, conv.weight.index_select(0, idx), pick(conv.bias, idx),
                                                 padding=conv.padding[0]))
                    # The grouped conv's kernel for each of these inputs (input t * hid + c is branch t's
                    # channel c within this half).
                    terms.append(depthwise_conv2d(p, kernels.index_select(0, order + t * hid),
                                                  padding=grouped.padding[0]))
                bias = pick(grouped.bias, outputs)
                if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (*terms, bias)):
                    y = PairSumReLU.apply(terms[0], terms[1], bias, plan)
                else:
                    y = pair_sum_relu(terms[0], terms[1], bias, plan)
                # A channels-last (N, C, H, W) tensor is a (pixels, C) matrix.
                rows = y.permute(0, 2, 3, 1).reshape(n * h * w, len(outputs))
                weight = w_out.index_select(1, outputs + half * hid).t()
                if out is None:  # the first chunk starts from the residual (never written in place)
                    out = rows @ weight if rows_res is None else torch.addmm(rows_res, rows, weight)
                else:
                    # In-place products are not autocast: the weight follows the rows (bfloat16 under autocast).
                    out = out.addmm_(rows, weight.to(rows.dtype))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
