"""Cost measurement: FLOPs against hand-counted multiply-accumulates, parameters, speed."""
import pytest
import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info

from restorelab.benchmark import (count_flops, count_paper_flops, count_parameters, measure_speed,
                                  release_formulation, runs_fast_path)
from restorelab.models.archs.restormer import Restormer
from restorelab.models.restorers import ImageRestorer


class TwoConvs(nn.Module):
    """conv 3->4 (3x3) + ReLU + conv 4->3 (3x3), residual: a net whose MACs are easy to count."""
    size_multiple = 4

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))


def test_flops_are_hand_counted_macs():
    h, w = 16, 24
    # Each output element of a k x k conv takes c_in * k * k multiply-accumulates;
    # bias, ReLU and the residual add count 0.
    expected = h * w * 4 * (3 * 9) + h * w * 3 * (4 * 9)
    assert count_flops(TwoConvs(), (3, h, w)) == expected == 82944
    info = get_model_complexity_info(TwoConvs(), input_shape=(3, h, w), show_table=False,
                                     show_arch=False)
    assert info['flops'] == expected
    assert count_parameters(TwoConvs()) == 4 * 3 * 9 + 4 + 3 * 4 * 9 + 3 == 223


class Accumulating(nn.Module):
    """Products written as in-place or batched add-products (as DRSformer's optimised forward does)."""
    size_multiple = 1

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 5))
        self.v = nn.Parameter(torch.randn(5, 3))

    def forward(self, x):
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
        hidden = rows @ self.w                                    # mm: n*h*w * 3 * 5
        out = torch.addmm(rows, hidden, self.v)                   # addmm: n*h*w * 5 * 3
        out = out.addmm_(rows, torch.eye(3))                      # addmm_: n*h*w * 3 * 3
        batched = out.reshape(n, h * w, c)
        batched = torch.baddbmm(batched, batched, torch.eye(3).expand(n, 3, 3))    # baddbmm: n*h*w * 9
        batched = batched.baddbmm_(batched.clone(), torch.eye(3).expand(n, 3, 3))  # baddbmm_: n*h*w * 9
        return batched.reshape(n, h, w, c).permute(0, 3, 1, 2)


def test_flops_count_in_place_and_batched_add_products():
    pixels = 4 * 6
    assert count_flops(Accumulating(), (3, 4, 6)) == pixels * (15 + 15 + 9 + 9 + 9)


def test_paper_flops_count_the_release_formulation_with_the_same_weights():
    """For an arch with a fast path, the paper count is that of the same weights with every fast flag
    off, which equals a model built with fast=False; the arch itself is left as it was."""
    tiny = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4])
    fast, plain = Restormer(**tiny), Restormer(**tiny, fast=False)
    assert runs_fast_path(fast) and not runs_fast_path(plain)
    copy = release_formulation(fast)
    assert copy is not fast and not runs_fast_path(copy) and runs_fast_path(fast)
    assert all(torch.equal(a, b) for a, b in zip(copy.state_dict().values(), fast.state_dict().values()))
    assert release_formulation(plain) is plain
    shape = (3, 16, 24)
    assert count_paper_flops(fast, shape) == count_flops(plain, shape) == count_paper_flops(plain, shape)
    # The fast path folds MDTA's product with v into the output projection (per block, pixels * C *
    # C/heads fewer multiply-accumulates) at the cost of the per-sample products W_out A (C * C *
    # C/heads); its layer norms are F.layer_norm, which mmengine counts (5 per element, two norms
    # per block), while the release's mean/var formulation counts 0. Everything else is the same.
    blocks = [(8, 1, 16 * 24), (16, 2, 8 * 12), (32, 2, 4 * 6), (64, 4, 2 * 3), (32, 2, 4 * 6),
              (16, 2, 8 * 12), (16, 1, 16 * 24), (16, 1, 16 * 24)]  # (C, heads, pixels) per block
    difference = sum(pixels * c * c // heads - c * c * c // heads - 2 * 5 * c * pixels
                     for c, heads, pixels in blocks)
    assert count_flops(plain, shape) - count_flops(fast, shape) == difference
    assert count_paper_flops(TwoConvs(), (3, 8, 8)) == count_flops(TwoConvs(), (3, 8, 8))


def test_flops_need_a_shape_the_arch_accepts():
    with pytest.raises(ValueError, match=r"multiples of the arch's size_multiple 4.*"
                                         r"\(3, 16, 20\)"):
        count_flops(TwoConvs(), (3, 14, 18))


def test_speed_reports_the_median_of_the_runs():
    model = ImageRestorer(arch=TwoConvs(), pixel_loss=None).eval()
    out = measure_speed(model, (3, 10, 14), runs=3, warmup=1)  # the restorer pads 10x14
    assert len(out['latencies_ms']) == 3 and out['runs'] == 3 and out['shape'] == [3, 10, 14]
    assert out['latency_ms'] == sorted(out['latencies_ms'])[1]
    with pytest.raises(ValueError, match='runs must be >= 1'):
        measure_speed(model, (3, 8, 8), runs=0)
