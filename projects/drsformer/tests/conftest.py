import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    """The tensors here are tiny: one thread avoids thread start-up and contention costs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
