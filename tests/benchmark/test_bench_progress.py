"""The benchmark's time left: every remaining cell and cost measurement at the seconds per
image each model has taken (the mean of the others for a model not run yet)."""
import pytest

from restorelab.benchmark import runner


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(runner.time, 'perf_counter', lambda: now[0])
    return now


def test_eta_counts_the_cost_phase_and_learns_from_it(clock):
    progress = runner._Progress(False, images=dict(A=10, B=10), costs=dict(A=5, B=5, I=0),
                                cost_pixels=100)
    assert progress.eta() is None  # nothing measured yet
    clock[0] = 2.0
    progress.images('A', 2, pixels=200)  # 1 s per image of 100 pixels
    # A: 8 images; B (not run yet): 10 images at A's rate; both costs: 5 restorations each of
    # an image as large as the sets' (100 pixels).
    assert progress.eta() == pytest.approx(8 + 10 + 5 + 5)
    clock[0] = 10.0
    progress.images('A', 8, pixels=800)
    clock[0] = 30.0
    progress.images('B', 10, pixels=1000)  # B: 2 s per image
    assert progress.eta() == pytest.approx(5 * 1 + 5 * 2)
    clock[0] = 40.0
    progress.cost_done('A', 10.0)  # twice what was estimated: the others are scaled too
    assert progress.eta() == pytest.approx(2 * 5 * 2)
    progress.cost_done('B', 20.0)
    assert progress.eta() == 0


def test_a_failed_cell_takes_its_images_off_the_plan(clock):
    progress = runner._Progress(False, images=dict(A=4, B=6), costs={}, cost_pixels=100)
    clock[0] = 4.0
    progress.images('A', 4, pixels=400)
    progress.skip('B', 6)
    assert progress.eta() == 0 and progress.total == 4
