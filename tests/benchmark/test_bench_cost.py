"""Cost measurement: FLOPs against hand-counted multiply-accumulates, parameters, speed."""
import pytest
import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info

from restorelab.benchmark import count_flops, count_parameters, measure_speed, peak_memory_mb
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


def test_cpu_peak_memory_sees_a_large_allocation():
    mib = 64

    def allocate():
        t = torch.ones(mib * 2**20 // 4)  # float32: exactly `mib` MiB, touched
        return float(t[-1])

    measured = peak_memory_mb(allocate, 'cpu')
    if measured is None:
        pytest.skip('no /proc/self/clear_refs on this system')
    assert mib * 0.9 <= measured <= mib * 1.5
