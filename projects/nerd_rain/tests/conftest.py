import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    """The tensors here are tiny: one thread (the root conftest's ``single_thread``)."""
    yield
