"""Top-k sparse attention (TKSA) of DRSformer, as in the official release."""
import torch
import torch.nn as nn
import torch.nn.functional as F

# The release mixes four sparsity levels: k = int(C * f) for these fractions of
# the C channels per head.
TOPK_FRACTIONS = ((1, 2), (2, 3), (3, 4), (4, 5))


def topk_counts(num_channels):
    """Number of kept entries per attention row for each sparsity level, e.g. C=48 -> [24, 32, 36, 38].

    Written as ``int(C * a / b)`` with the release's float arithmetic, so the counts agree for every C.
    """
    return [int(num_channels * a / b) for a, b in TOPK_FRACTIONS]


def topk_rank(scores, max_k):
    """Rank (0 = largest) of each of the ``max_k`` largest entries per row; every other entry gets ``max_k``.

    ``scores``: (..., C, C). Keeping the entries whose rank is below k keeps exactly the row's top k,
    for every k <= max_k, from a single sorted top-k.
    """
    index = scores.topk(max_k, dim=-1, largest=True, sorted=True).indices
    rank = torch.full_like(scores, max_k, dtype=torch.long)
    order = torch.arange(max_k, device=scores.device).expand_as(index)
    return rank.scatter_(-1, index, order)


class TKSA(nn.Module):
    """Top-k sparse channel attention: (N, dim, H, W) -> (N, dim, H, W).

    q, k, v come from a 1x1 conv and a 3x3 depth-wise conv; per head, the C x C
    ("transposed") attention of L2-normalised q and k is scaled by a learnable
    temperature, restricted to each row's top-k entries for four values of k,
    softmaxed, and the four attention maps are mixed with learnable scalars
    ``attn1..attn4`` before being applied to v. Since the release applies each
    map to v and then mixes, and ``sum_i w_i (A_i v) = (sum_i w_i A_i) v``, the
    maps are mixed first and v is multiplied once, together with the output
    projection (see ``forward``). Channels-last input is the fast path; any
    layout gives the same numbers. ``projects/drsformer/tests/reference.py``
    keeps the release's straightforward formulation that tests compare with.
    Parameter names follow the release (``temperature``, ``qkv``, ``qkv_dwconv``,
    ``project_out``, ``attn1``..``attn4``).
    """

    def __init__(self, dim, num_heads, bias=False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'TKSA: dim={dim} must be divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)
        # The release initialises every mixing weight to 0.2.
        self.attn1 = nn.Parameter(torch.tensor([0.2]))
        self.attn2 = nn.Parameter(torch.tensor([0.2]))
        self.attn3 = nn.Parameter(torch.tensor([0.2]))
        self.attn4 = nn.Parameter(torch.tensor([0.2]))

    @property
    def mix_weights(self):
        """The four mixing weights, in the order of ``TOPK_FRACTIONS``."""
        return [self.attn1, self.attn2, self.attn3, self.attn4]

    def _project(self, x, channels):
        """Channels ``channels`` of ``qkv_dwconv(qkv(x))``: (N, dim, H, W) -> (N, len(channels), H, W)."""
        def part(t):
            return None if t is None else t[channels]
        y = F.conv2d(x, part(self.qkv.weight), part(self.qkv.bias))
        return F.conv2d(y, part(self.qkv_dwconv.weight), part(self.qkv_dwconv.bias), padding=1,
                        groups=y.shape[1])

    def attention_maps(self, x):
        """Scaled channel attention and values: (N, heads, C, C) scores, (N, H*W, dim) v.

        Works on any memory layout; with channels-last input (what DRSformer passes) q, k, v are
        (N, H*W, dim) views of their depth-wise convs' outputs. q and k are L2-normalised before the product exactly as
        released: dividing the raw products by the norms instead is the same function but rounds
        differently, which flips top-k boundaries in float32 far more often (measured: 65 dB instead of
        147 dB PSNR against the release on a random full-size model).
        """
        n, dim, h, w = x.shape
        heads, c = self.num_heads, dim // self.num_heads
        # q, k and v come from per-channel ops (1x1 rows, depth-wise kernels), so each is computed as
        # its own tensor: no slices of one (N, 3*dim) output, whose backward would zero-fill it per slice.
        # F.normalize over the pixels of each q and k channel (norm clamped at 1e-12, then divided) is
        # a reduction over the rows of the channels-last matrix (vector_norm over that dimension takes a
        # path about 6x slower on CPU).
        q, k, v = (self._project(x, slice(i * dim, (i + 1) * dim)).permute(0, 2, 3, 1).reshape(n, h * w, dim)
                   for i in range(3))
        q, k = (t / (t * t).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12) for t in (q, k))
        q = q.reshape(n, h * w, heads, c).permute(0, 2, 3, 1)  # (n, heads, c, hw)
        k = k.reshape(n, h * w, heads, c).permute(0, 2, 3, 1)
        return (q @ k.transpose(-2, -1)) * self.temperature, v

    def sparse_mixture(self, scores):
        """Mix of the four row-wise top-k softmaxes of ``scores`` (..., C, C), weighted by ``attn1..attn4``.

        One sort gives the four masks (``topk_rank``); the softmaxes share the row maximum (the row's
        largest entry is kept by every mask) and their exponentials, so each level only re-sums.
        """
        counts = topk_counts(scores.shape[-1])
        rank = topk_rank(scores, max(counts))
        exp = (scores - scores.amax(dim=-1, keepdim=True)).exp()
        mixed = 0
        for k, weight in zip(counts, self.mix_weights):
            kept = exp.masked_fill(rank >= k, 0.0)
            mixed = mixed + kept * (weight / kept.sum(dim=-1, keepdim=True))
        return mixed

    def forward(self, x, residual=None):
        """(N, dim, H, W) -> (N, dim, H, W) channels-last; ``residual`` (same shape) is added in the last product.

        ``project_out(A v)`` with A the block-diagonal mixed attention equals ``(W_out A) v``: the C x C
        matrix W_out A is formed per sample (tiny) and applied to v in one batched product, which
        replaces the attention-times-v product, the head rearrangement and the 1x1 conv.
        """
        n, dim, h, w = x.shape
        heads, c = self.num_heads, dim // self.num_heads
        scores, v = self.attention_maps(x)
        mixed = self.sparse_mixture(scores)  # (n, heads, c, c)
        w_out = self.project_out.weight.reshape(dim, heads, c)
        combined = torch.einsum('ohi,nhid->nohd', w_out, mixed).reshape(n, dim, dim)
        if residual is None:
            out = v @ combined.transpose(1, 2)
        else:
            out = torch.baddbmm(residual.permute(0, 2, 3, 1).reshape(n, h * w, dim), v, combined.transpose(1, 2))
        if self.project_out.bias is not None:
            out = out + self.project_out.bias
        return out.reshape(n, h, w, dim).permute(0, 3, 1, 2)
