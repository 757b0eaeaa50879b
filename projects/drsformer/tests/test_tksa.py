"""TKSA: top-k masking and the four-level mixture against a direct definition."""
import pytest
import torch

from projects.drsformer.drsformer.tksa import TKSA, topk_counts, topk_rank


def test_topk_counts_are_the_release_fractions():
    assert topk_counts(48) == [24, 32, 36, 38]
    assert topk_counts(6) == [3, 4, 4, 4]
    assert topk_counts(96) == [48, 64, 72, 76]


def test_each_row_keeps_exactly_its_k_largest_entries():
    scores = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    counts = topk_counts(10)
    rank = topk_rank(scores, max(counts))
    order = scores.argsort(dim=-1, descending=True)
    for k in counts:
        kept = rank < k
        assert (kept.sum(-1) == k).all()
        direct = torch.zeros_like(kept).scatter_(-1, order[..., :k], True)
        assert torch.equal(kept, direct)


def dense_topk_softmax(row, k):
    """Softmax of a 1-D row over its k largest entries, zeros elsewhere (written out directly)."""
    keep = sorted(range(len(row)), key=lambda j: -row[j].item())[:k]
    out = torch.zeros_like(row)
    m = max(row[j] for j in keep)
    total = sum(torch.exp(row[j] - m) for j in keep)
    for j in keep:
        out[j] = torch.exp(row[j] - m) / total
    return out


def test_forward_equals_weighted_sum_of_four_dense_masked_attentions():
    torch.manual_seed(0)
    dim, heads, h, w = 8, 2, 4, 5
    attn = TKSA(dim, heads).double()
    with torch.no_grad():
        for p, value in zip(attn.mix_weights, (0.1, -0.3, 0.7, 0.45)):
            p.fill_(value)
        attn.temperature.copy_(torch.tensor([2.0, 0.5]).view(2, 1, 1))
    x = torch.randn(2, dim, h, w, dtype=torch.float64)

    # Direct definition, step by step from the release's description.
    qkv = attn.qkv_dwconv(attn.qkv(x))
    q, k, v = qkv.chunk(3, dim=1)
    c = dim // heads
    q = q.reshape(2, heads, c, h * w)
    k = k.reshape(2, heads, c, h * w)
    v = v.reshape(2, heads, c, h * w)
    q = q / q.norm(dim=-1, keepdim=True)
    k = k / k.norm(dim=-1, keepdim=True)
    scores = torch.einsum('nhcl,nhdl->nhcd', q, k) * attn.temperature
    out = torch.zeros_like(v)
    for level, weight in zip(topk_counts(c), (0.1, -0.3, 0.7, 0.45)):
        probs = torch.stack([torch.stack([torch.stack([dense_topk_softmax(scores[n, i, r], level) for r in range(c)])
                                          for i in range(heads)]) for n in range(2)])
        assert ((probs > 0).sum(-1) == level).all()
        out = out + weight * (probs @ v)
    expected = attn.project_out(out.reshape(2, dim, h, w))

    with torch.no_grad():
        assert torch.allclose(attn(x), expected, rtol=0, atol=1e-12)


def test_mixing_weights_and_temperature_are_learnable():
    attn = TKSA(4, 1)
    x = torch.randn(1, 4, 4, 4)
    attn(x).square().sum().backward()
    for p in attn.mix_weights + [attn.temperature]:
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_heads_must_divide_dim():
    with pytest.raises(ValueError, match='dim=6 must be divisible by num_heads=4'):
        TKSA(6, 4)
