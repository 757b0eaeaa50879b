"""What the ONNX tests need: onnx and onnxruntime (``pip install -e '.[deploy]'``; ``make test``
installs them). Where one is missing the tests skip naming it, except in CI (``CI`` set), where
that is a failure: CI must run them."""
import importlib.util

import pytest
from deploy_helpers import TINY_CONFIG

from tests.fixtures.optional import require_installed


@pytest.fixture(scope='session', autouse=True)
def deploy_stack():
    for name in ('onnx', 'onnxruntime'):
        require_installed(name, importlib.util.find_spec(name), "pip install -e '.[deploy]'")


@pytest.fixture(autouse=True)
def one_thread():
    """One PyTorch thread (ONNX Runtime's sessions follow it): tiny models on a shared machine
    gain nothing from more, and spinning ONNX Runtime threads slow the other tests."""
    import torch
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory):
    """``(model, checkpoint, dynamic .onnx, static 32x32 .onnx)``: the tools' tiny Restormer with
    fixed random weights, its checkpoint and two exports of it."""
    import torch

    from restorelab.apis import init_model
    from restorelab.deploy import export_onnx
    torch.manual_seed(0)
    model = init_model(TINY_CONFIG)
    folder = tmp_path_factory.mktemp('tiny')
    checkpoint = str(folder / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    dynamic, static = str(folder / 'dynamic.onnx'), str(folder / 'static32.onnx')
    export_onnx(model.arch, dynamic, shape=(16, 16), dynamic=True)
    export_onnx(model.arch, static, shape=(32, 32))
    return model, checkpoint, dynamic, static
