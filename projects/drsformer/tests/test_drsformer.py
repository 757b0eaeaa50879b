"""DRSformer backbone: shapes, the MEFC switch, parameter counts of the release, registry."""
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


def test_built_from_the_registry():
    net = MODELS.build(dict(type='DRSformer', use_mefc=False, **TINY))
    assert isinstance(net, DRSformer) and net.refinement is None


def test_bias_free_layer_norm_has_no_bias():
    net = DRSformer(**TINY, layer_norm_type='BiasFree')
    assert net.encoder_level1[0].norm1.bias is None
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="layer_norm_type='LN'"):
        DRSformer(layer_norm_type='LN')
    with pytest.raises(ValueError, match='4 entries'):
        DRSformer(num_blocks=(1, 1, 1))
    with pytest.raises(ValueError, match='12x16 must be a multiple of 8'):
        DRSformer(**TINY)(torch.rand(1, 3, 12, 16))


def test_trains_one_step():
    torch.manual_seed(0)
    net = DRSformer(**TINY)
    x, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    loss = (net(x) - gt).abs().mean()
    loss.backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None]
    assert no_grad == []


# Multiply-accumulates at 256x256 counted by mmengine.analysis (see projects/drsformer/README.md): the
# release's formulation (tests/reference.py; equal to the count of the official module) and the
# optimised forward (one product with v folded with the output projection, MEFC folds, and the few
# unused channels of the MSFN's chunks), with in-place and batched-add products counted too.
REFERENCE_MACS_256 = 242_989_216_768
OPTIMISED_MACS_256 = 204_836_261_944


@pytest.mark.slow
def test_full_size_forward_and_flops_at_256():
    """Counted by restorelab's count_flops (mmengine's FlopAnalyzer, with the in-place and batched
    add-products it would leave at 0)."""
    from restorelab.benchmark import count_flops

    from .reference import ReferenceDRSformer
    net = DRSformer().eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert sum(p.numel() for p in net.parameters()) == 33_655_424
    assert count_flops(ReferenceDRSformer(net), (3, 256, 256)) == REFERENCE_MACS_256
    assert count_flops(net, (3, 256, 256)) == OPTIMISED_MACS_256
