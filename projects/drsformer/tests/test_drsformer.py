"""DRSformer backbone: shapes, the MEFC switches, parameter counts of the release and its ablations, registry."""
import pytest
import torch

from projects.drsformer.drsformer import DRSformer
from restorelab.registry import MODELS

TINY = dict(dim=4, num_blocks=(1, 2, 1, 1), heads=(1, 2, 2, 4))


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_forward_shape_and_global_residual():
    torch.manual_seed(0)
    net = DRSformer(**TINY)
    assert net.size_multiple == 8
    x = torch.rand(2, 3, 16, 24)
    assert net(x).shape == x.shape
    with torch.no_grad():
        net.output.weight.zero_()
        assert torch.equal(net(x), x)  # output conv + input


def test_no_mefc_switch_removes_both_compensators():
    with_mefc, without = DRSformer(**TINY), DRSformer(**TINY, use_mefc=False)
    names = {n.split('.')[0] for n, _ in without.named_parameters()}
    assert 'encoder_level0' not in names and 'refinement' not in names
    mefc_params = count(with_mefc.encoder_level0) + count(with_mefc.refinement)
    assert count(with_mefc) - count(without) == mefc_params > 0
    assert without(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_full_size_parameter_counts_match_the_release():
    assert count(DRSformer()) == 33_655_424
    assert count(DRSformer(use_mefc=False)) == 32_610_304


def test_mefc_positions_and_experts():
    """Table 4: MEFC-1 (early) and MEFC-2 (final) separately, and fewer experts in both."""
    both = DRSformer(**TINY)
    early, final = DRSformer(**TINY, mefc_positions=['early']), DRSformer(**TINY, mefc_positions=('final',))
    assert early.refinement is None and count(early.encoder_level0) == count(both.encoder_level0)
    assert final.encoder_level0 is None and count(final.refinement) == count(both.refinement)
    assert count(both) - count(early) - count(final) == -count(DRSformer(**TINY, use_mefc=False))
    for experts in (1, 4, 8):
        net = DRSformer(**TINY, mefc_experts=experts)
        assert len(net.encoder_level0.expert_names) == len(net.refinement.expert_names) == experts
        assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


# Parameters of the full-size ablation models (the README's ablation table shows them).
ABLATION_PARAMETERS = [
    (dict(ffn_type='fn'), 21_633_056), (dict(ffn_type='dfn'), 21_802_940), (dict(ffn_type='gdfn'), 26_700_440),
    (dict(mefc_positions=['early']), 32_841_120), (dict(mefc_positions=['final']), 33_424_608),
    (dict(mefc_experts=1), 32_770_432), (dict(mefc_experts=4), 33_123_488),
    (dict(topk_fractions=None), 33_655_264), (dict(topk_fractions=[[1, 2]]), 33_655_264),
    (dict(topk_fractions=[[1, 4], [1, 3], [1, 2]]), 33_655_384),
    (dict(topk_fractions=[[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]), 33_655_464),
]


@pytest.mark.parametrize('kwargs,params', ABLATION_PARAMETERS)
def test_full_size_ablation_parameter_counts(kwargs, params):
    """Each variant differs from the release only where it should: e.g. 40 blocks x 4 mixing weights
    fewer without top-k mixing, one more per block with five fractions."""
    with torch.device('meta'):
        assert count(DRSformer(**kwargs)) == params


def test_built_from_the_registry():
    net = MODELS.build(dict(type='DRSformer', use_mefc=False, **TINY))
    assert isinstance(net, DRSformer) and net.refinement is None


def test_bias_free_layer_norm_has_no_bias():
    net = DRSformer(**TINY, layer_norm_type='BiasFree')
    assert [name for name, _ in net.encoder_level1[0].norm1.named_parameters()] == ['body.weight']
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="layer_norm_type='LN'"):
        DRSformer(layer_norm_type='LN')
    with pytest.raises(ValueError, match='4 entries'):
        DRSformer(num_blocks=(1, 1, 1))
    with pytest.raises(ValueError, match='12x16 must be a multiple of 8'):
        DRSformer(**TINY)(torch.rand(1, 3, 12, 16))
    for bad in ([], 'early', ['early', 'early'], ['middle']):
        with pytest.raises(ValueError, match='mefc_positions='):
            DRSformer(**TINY, mefc_positions=bad)
    with pytest.raises(ValueError, match="ffn_type='gfn'"):
        DRSformer(**TINY, ffn_type='gfn')
    with pytest.raises(ValueError, match='mefc_experts|experts='):
        DRSformer(**TINY, mefc_experts=3)


def test_trains_one_step():
    torch.manual_seed(0)
    net = DRSformer(**TINY)
    x, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    loss = (net(x) - gt).abs().mean()
    loss.backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None]
    assert no_grad == []


# Multiply-accumulates at 256x256 counted by restorelab's count_flops (tools/analysis/get_flops.py):
# the release's formulation (fast=False; equal to the count of the official module) and the fast
# forward (one product with v folded with the output projection, MEFC folds, and the few unused
# channels of the MSFN's chunks), with in-place and batched add-products counted too. The folded
# product W_out A is a matmul, which the counter counts exactly (its einsum handle rounds by a few MACs).
RELEASE_MACS_256 = 242_989_216_768
FAST_MACS_256 = 204_836_245_840


@pytest.mark.slow
def test_full_size_forward_and_flops_at_256():
    """Counted by restorelab's count_flops (mmengine's FlopAnalyzer, with the in-place and batched
    add-products it would leave at 0)."""
    from restorelab.benchmark import count_flops

    net = DRSformer().eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert sum(p.numel() for p in net.parameters()) == 33_655_424
    assert count_flops(DRSformer(fast=False), (3, 256, 256)) == RELEASE_MACS_256
    assert count_flops(net, (3, 256, 256)) == FAST_MACS_256
