from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent
# shared/ lies beside the checkout (on developer machines and in CI).
SHARED_REFERENCE = REPO_ROOT.parent / 'shared' / 'reference'


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='run tests marked slow')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes minutes; run with --runslow')
    config.addinivalue_line('markers', 'cuda: runs on a CUDA device, skipped without one '
                            '(`pytest -m cuda` runs only these: benchmarks/gpu_check.sh does)')


NO_CUDA = ('no CUDA device: torch.cuda.is_available() is False here; the cuda case runs on a GPU '
           'machine (`pytest -m cuda`, or bash benchmarks/gpu_check.sh)')
# The devices a device-parametrised test runs on: the CPU always (the suite's existing case), CUDA
# marked `cuda` and skipped where there is none.
DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    """The device of a device-parametrised test (a str: 'cpu', or 'cuda' when available)."""
    if request.param == 'cuda' and not torch.cuda.is_available():
        pytest.skip(NO_CUDA)
    return request.param


def pytest_collection_modifyitems(config, items):
    for item in items:  # a test asking for the CUDA device is a cuda test (`pytest -m cuda`)
        if 'cuda_device' in getattr(item, 'fixturenames', ()):
            item.add_marker(pytest.mark.cuda)
    if config.getoption('--runslow'):
        return
    skip_slow = pytest.mark.skip(reason='slow: run with --runslow (make test-slow)')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def cuda_device():
    """'cuda' for a test that only makes sense on a GPU (its CPU case is another, existing test);
    skipped where there is none. Such tests are marked ``cuda``."""
    if not torch.cuda.is_available():
        pytest.skip(NO_CUDA)
    return 'cuda'


@pytest.fixture
def single_thread():
    """One torch thread for the test: tiny tensors gain nothing from a second one, and on a shared
    CPU the threads contend with other work. Tests or folders opt in (``usefixtures``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_reference():
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f'shared reference folder not found at {SHARED_REFERENCE}')
    return SHARED_REFERENCE


# The tests run with restorelab's changes to mmengine installed, as the tools do.
from restorelab.engine import setup_engine  # noqa: E402

setup_engine()
