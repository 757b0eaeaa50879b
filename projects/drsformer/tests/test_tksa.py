"""TKSA: top-k counts, the variants of the ablations (Figs. 6, 7) against direct definitions, arguments."""
import pytest
import torch

from projects.drsformer.drsformer.tksa import RELEASE_TOPK_FRACTIONS, TKSA, mask_topk, topk_counts
from restorelab.models.archs.restormer import MDTA


def test_topk_counts_are_the_release_fractions():
    assert topk_counts(48) == [24, 32, 36, 38]
    assert topk_counts(6) == [3, 4, 4, 4]
    assert topk_counts(96) == [48, 64, 72, 76]
    # int(C * a / b) as the release computes it: int(48 * 2 / 3) = 32, while int(48 * (2 / 3)) = 31.
    assert topk_counts(48, [(2, 3)]) == [32]
    assert topk_counts(48, [(1, 4), (1, 3), (1, 2), (5, 6)]) == [12, 16, 24, 40]


def test_mask_topk_keeps_exactly_the_k_largest():
    scores = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    for k in (1, 4, 10):
        masked = mask_topk(scores, k)
        kept = torch.isfinite(masked)
        assert (kept.sum(-1) == k).all()
        assert torch.equal(masked[kept], scores[kept])
        smallest_kept = scores.masked_fill(~kept, float('inf')).amin(-1)
        largest_dropped = scores.masked_fill(kept, float('-inf')).amax(-1)
        assert (smallest_kept > largest_dropped).all()


def dense_topk_softmax(row, k):
    """Softmax of a 1-D row over its k largest entries, zeros elsewhere (written out directly)."""
    keep = sorted(range(len(row)), key=lambda j: -row[j].item())[:k]
    out = torch.zeros_like(row)
    m = max(row[j] for j in keep)
    total = sum(torch.exp(row[j] - m) for j in keep)
    for j in keep:
        out[j] = torch.exp(row[j] - m) / total
    return out


def direct_tksa(attn, x, weights):
    """Step by step from the paper/release: q, k, v; normalise; scores; per k a row-wise top-k softmax
    times v, weighted; heads concatenated; output projection."""
    n, dim, h, w = x.shape
    heads = attn.num_heads
    q, k, v = attn.qkv_dwconv(attn.qkv(x)).chunk(3, dim=1)
    c = dim // heads
    q, k, v = (t.reshape(n, heads, c, h * w) for t in (q, k, v))
    q = q / q.norm(dim=-1, keepdim=True)
    k = k / k.norm(dim=-1, keepdim=True)
    scores = torch.einsum('nhcl,nhdl->nhcd', q, k) * attn.temperature
    out = torch.zeros_like(v)
    for level, weight in zip(attn.topk_counts, weights):
        probs = torch.stack([torch.stack([torch.stack([dense_topk_softmax(scores[b, i, r], level) for r in range(c)])
                                          for i in range(heads)]) for b in range(n)])
        assert ((probs > 0).sum(-1) == level).all()
        out = out + weight * (probs @ v)
    return attn.project_out(out.reshape(n, dim, h, w))


@pytest.mark.parametrize('fast', [True, False])
@pytest.mark.parametrize('fractions,weights', [
    (RELEASE_TOPK_FRACTIONS, (0.1, -0.3, 0.7, 0.45)),  # the release: four k, learnable mixing
    (((1, 2),), (1.0,)),  # one fixed k: no mixing weight
    (((1, 4), (1, 2), (5, 6)), (0.6, 0.2, -0.1)),
])
def test_forward_equals_weighted_sum_of_dense_masked_attentions(fast, fractions, weights):
    torch.manual_seed(0)
    attn = TKSA(12, 2, topk_fractions=fractions, fast=fast).double()
    with torch.no_grad():
        for p, value in zip(attn.mix_weights, weights):
            p.fill_(value)
        attn.temperature.copy_(torch.tensor([2.0, 0.5]).view(2, 1, 1))
    x = torch.randn(2, 12, 4, 5, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(attn(x), direct_tksa(attn, x, weights), rtol=0, atol=1e-12)


@pytest.mark.parametrize('fast', [True, False])
def test_dense_variant_is_restormers_mdta(fast):
    """w/o top-k (Fig. 6) is plain softmax attention over the C x C map: restorelab's MDTA with the same weights."""
    torch.manual_seed(0)
    attn = TKSA(12, 3, bias=True, topk_fractions=None, fast=fast).double()
    mdta = MDTA(12, 3, bias=True).double()
    mdta.load_state_dict(attn.state_dict(), strict=True)
    with torch.no_grad():
        attn.temperature.copy_(torch.tensor([2.0, 0.5, 1.5]).view(3, 1, 1))
        mdta.temperature.copy_(attn.temperature)
    x = torch.randn(2, 12, 4, 5, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(attn(x), mdta(x), rtol=0, atol=1e-12)


def test_mixing_weights_one_per_fraction_none_for_one_k_or_dense():
    names = lambda attn: sorted(n for n, _ in attn.named_parameters() if n.startswith('attn'))  # noqa: E731
    assert names(TKSA(48, 1)) == ['attn1', 'attn2', 'attn3', 'attn4']
    assert names(TKSA(48, 1, topk_fractions=[[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]])) == \
        ['attn1', 'attn2', 'attn3', 'attn4', 'attn5']
    assert names(TKSA(48, 1, topk_fractions=[[1, 2]])) == []
    assert names(TKSA(48, 1, topk_fractions=None)) == []
    base = sum(p.numel() for p in TKSA(48, 1, topk_fractions=None).parameters())
    assert sum(p.numel() for p in TKSA(48, 1).parameters()) == base + 4
    assert TKSA(48, 1).attn1.item() == pytest.approx(0.2)  # the release's initial value


@pytest.mark.parametrize('fractions', [RELEASE_TOPK_FRACTIONS, [[1, 2]], None])
def test_learnable_parameters_get_gradients(fractions):
    attn = TKSA(8, 2, topk_fractions=fractions)
    x = torch.randn(1, 8, 4, 4)
    attn(x).square().sum().backward()
    for name, p in attn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='dim=6 must be divisible by num_heads=4'):
        TKSA(6, 4)
    for bad in ([], [0.5], [[1, 2], [1, 2]], [[3, 2]], [[0, 2]], [[1.5, 2]], '1/2'):
        with pytest.raises(ValueError, match='topk_fractions='):
            TKSA(8, 1, topk_fractions=bad)
    with pytest.raises(ValueError, match=r'keep k=\[0\] of the 2 channels per head'):
        TKSA(8, 4, topk_fractions=[[1, 3]])
