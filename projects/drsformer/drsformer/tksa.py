"""Top-k sparse attention (TKSA) of DRSformer (paper Eqs. 5-6, in the official release's form), and its
ablations: other sets of top-k fractions (Fig. 7), a single k, and dense attention (Fig. 6, w/o top-k)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from restorelab.models.archs.common import project_attention, project_channels

from .fast_kernels import topk_rank

# The release mixes four sparsity levels, k = int(C * a / b) for these fractions a/b of the C channels
# per head: the paper's interval [1/2, 4/5].
RELEASE_TOPK_FRACTIONS = ((1, 2), (2, 3), (3, 4), (4, 5))


def check_topk_fractions(fractions):
    """``fractions`` as a tuple of (a, b) int pairs with 0 < a/b <= 1, or None (dense attention).

    Fractions are integer pairs, not floats, so that k = int(C * a / b) is computed as the release
    does (``int(C*2/3)``); a float 2/3 gives 31 instead of 32 for C = 48.
    """
    if fractions is None:
        return None
    try:
        pairs = tuple((int(a), int(b)) for a, b in fractions)
        valid = bool(pairs) and all(a == f_a and b == f_b for (a, b), (f_a, f_b) in zip(pairs, fractions))
    except (TypeError, ValueError):
        valid = False
    if not valid or not all(0 < a <= b for a, b in pairs) or len(set(pairs)) != len(pairs):
        raise ValueError(
            f'TKSA: topk_fractions={fractions!r}; expected a non-empty list of distinct [a, b] integer '
            'pairs with 0 < a <= b (the fraction a/b of each attention row kept), e.g. [[1, 2], [2, 3], '
            '[3, 4], [4, 5]] (the release) or [[1, 2]] (one k), or None for dense attention (no top-k)')
    return pairs


def topk_counts(num_channels, fractions=RELEASE_TOPK_FRACTIONS):
    """Number of kept entries per attention row for each fraction, e.g. C=48 -> [24, 32, 36, 38].

    Written as ``int(C * a / b)`` with the release's float arithmetic, so the counts agree for every C.
    """
    return [int(num_channels * a / b) for a, b in fractions]


def mask_topk(scores, k):
    """The top-k selection T_k of Eq. 6 as released: every entry outside its row's k largest set to -inf.

    ``scores``: (..., C, C); a softmax afterwards gives those entries probability 0.
    """
    mask = torch.zeros_like(scores)
    mask.scatter_(-1, scores.topk(k, dim=-1, largest=True).indices, 1.0)
    return torch.where(mask > 0, scores, torch.full_like(scores, float('-inf')))


class TKSA(nn.Module):
    """Top-k sparse channel attention: (N, dim, H, W) -> (N, dim, H, W).

    q, k, v come from a 1x1 conv and a 3x3 depth-wise conv; per head, the C x C ("transposed")
    attention of L2-normalised q and k (over the pixels) is scaled by a learnable temperature (the
    paper's 1/lambda), each row restricted to its top k entries (T_k), softmaxed and applied to v;
    heads are concatenated and projected by a 1x1 conv.

    ``topk_fractions`` (pairs (a, b) meaning k = int(C * a / b)) selects the variant:

    * several fractions (default: the release's 1/2, 2/3, 3/4, 4/5): one attention map per k, mixed
      with learnable scalars ``attn1..attnN`` (the release initialises them to 0.2):
      ``sum_i attn_i * softmax(T_ki(M)) v``;
    * one fraction: ``softmax(T_k(M)) v`` with that fixed k and no mixing weight;
    * None: dense attention ``softmax(M) v`` (no top-k, no mixing weight): Restormer's MDTA.

    ``fast=False`` runs the release's formulation (``forward_plain``); ``fast=True`` the same function
    with one sort and one product with v (``forward_fast``). Parameter names follow the release
    (``temperature``, ``qkv``, ``qkv_dwconv``, ``project_out``, ``attn1``..).
    """

    def __init__(self, dim, num_heads, bias=False, topk_fractions=RELEASE_TOPK_FRACTIONS, fast=True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'TKSA: dim={dim} must be divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.fast = fast
        self.topk_fractions = check_topk_fractions(topk_fractions)
        channels = dim // num_heads
        self.topk_counts = None if self.topk_fractions is None else topk_counts(channels, self.topk_fractions)
        if self.topk_counts is not None and min(self.topk_counts) < 1:
            raise ValueError(f'TKSA: topk_fractions={list(self.topk_fractions)} keep k={self.topk_counts} of '
                             f'the {channels} channels per head (dim={dim}, num_heads={num_heads}); every k '
                             'must be at least 1: use larger fractions, a larger dim or fewer heads')
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)
        self.num_mix_weights = len(self.topk_counts) if self.topk_counts and len(self.topk_counts) > 1 else 0
        for i in range(self.num_mix_weights):
            setattr(self, f'attn{i + 1}', nn.Parameter(torch.tensor([0.2])))

    @property
    def mix_weights(self):
        """The learnable mixing weights ``attn1..attnN``, one per k (none for one k or dense attention)."""
        return [getattr(self, f'attn{i + 1}') for i in range(self.num_mix_weights)]

    def extra_repr(self):
        kind = 'dense' if self.topk_counts is None else f'top-k {self.topk_counts}'
        return f'heads={self.num_heads}, {kind}, fast={self.fast}'

    def forward(self, x):
        """(N, dim, H, W) -> (N, dim, H, W)."""
        return self.forward_fast(x) if self.fast else self.forward_plain(x)

    def forward_plain(self, x):
        """The release's formulation: per k, mask, softmax, product with v; then mix and project."""
        n, dim, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (rearrange(t, 'b (head c) h w -> b head c (h w)', head=self.num_heads) for t in (q, k, v))
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        scores = (q @ k.transpose(-2, -1)) * self.temperature  # M: (N, heads, C, C)
        if self.topk_counts is None:  # w/o top-k
            out = scores.softmax(dim=-1) @ v
        elif not self.mix_weights:  # one fixed k
            out = mask_topk(scores, self.topk_counts[0]).softmax(dim=-1) @ v
        else:
            out = sum((mask_topk(scores, count).softmax(dim=-1) @ v) * weight
                      for count, weight in zip(self.topk_counts, self.mix_weights))
        out = rearrange(out, 'b head c (h w) -> b (head c) h w', head=self.num_heads, h=h, w=w)
        return self.project_out(out)

    # The fast path.

    def attention_maps(self, x):
        """Scaled channel attention and values: (N, heads, C, C) scores, (N, H*W, dim) v.

        Works on any memory layout; with channels-last input (what DRSformer passes) q, k, v are
        (N, H*W, dim) views of their depth-wise convs' outputs. q and k are L2-normalised before the
        product exactly as released: dividing the raw products by the norms instead is the same function
        but rounds differently, which flips top-k boundaries in float32 far more often (the outputs then
        drift from the release's; tests/test_fast_equivalence.py holds the agreement).
        """
        n, dim, h, w = x.shape
        heads, c = self.num_heads, dim // self.num_heads
        # q, k and v come from per-channel ops (1x1 rows, depth-wise kernels), so each is computed as
        # its own tensor: no slices of one (N, 3*dim) output, whose backward would zero-fill it per slice.
        # F.normalize over the pixels of each q and k channel (norm clamped at 1e-12, then divided) is
        # a reduction over the rows of the channels-last matrix (vector_norm over that dimension takes a
        # path several times slower on CPU).
        q, k, v = (project_channels(x, self.qkv, self.qkv_dwconv, slice(i * dim, (i + 1) * dim))
                   .permute(0, 2, 3, 1).reshape(n, h * w, dim) for i in range(3))
        q, k = (t / (t * t).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12) for t in (q, k))
        q = q.reshape(n, h * w, heads, c).permute(0, 2, 3, 1)  # (n, heads, c, hw)
        k = k.reshape(n, h * w, heads, c).permute(0, 2, 3, 1)
        return (q @ k.transpose(-2, -1)) * self.temperature, v

    def mixed_attention(self, scores):
        """The attention map that multiplies v: ``sum_i attn_i softmax(T_ki(scores))`` (one term with
        weight 1 for a single k; ``softmax(scores)`` for dense attention).

        One sort gives every mask (``topk_rank``); the softmaxes share the row maximum (the row's
        largest entry is kept by every mask) and their exponentials, so each k only re-sums.
        """
        if self.topk_counts is None:
            return scores.softmax(dim=-1)
        rank = topk_rank(scores, max(self.topk_counts))
        exp = (scores - scores.amax(dim=-1, keepdim=True)).exp()
        mixed = 0
        for k, weight in zip(self.topk_counts, self.mix_weights or [1.0]):
            kept = exp.masked_fill(rank >= k, 0.0)
            mixed = mixed + kept * (weight / kept.sum(dim=-1, keepdim=True))
        return mixed

    def forward_fast(self, x, residual=None):
        """``forward_plain(x) (+ residual)``, channels-last in and out: the mixed top-k attention
        (:meth:`mixed_attention`) with the output projection folded into one product with v, which
        also adds the residual (``project_attention``, shared with Restormer's MDTA)."""
        scores, v = self.attention_maps(x)
        return project_attention(self.mixed_attention(scores), v, self.project_out, x.shape[2:], residual)
