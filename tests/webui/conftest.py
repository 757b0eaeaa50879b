"""Start tools/webui.py on a free local port and drive it with a headless Chromium.

What the browser tests need: gradio and selenium (``pip install -e .[webui,browser-test]``)
and Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium
chromium-driver``; .ci/run installs them). Where one is missing the tests skip with its
name, except in CI (``CI`` set), where that is a failure: CI must run them.
"""
import importlib.util
import os
import shutil

import pytest
import torch
from webui_helpers import TINY_CONFIG, Server, new_browser

from tests.fixtures.optional import require_installed as require


def chromium_paths():
    browser = os.environ.get('RESTORELAB_CHROMIUM') or shutil.which('chromium')
    driver = os.environ.get('RESTORELAB_CHROMEDRIVER') or shutil.which('chromedriver')
    return browser, driver


@pytest.fixture(scope='session')
def browser_stack():
    require('gradio', importlib.util.find_spec('gradio'), "pip install -e '.[webui]'")
    require('selenium', importlib.util.find_spec('selenium'), "pip install -e '.[browser-test]'")
    browser, driver = chromium_paths()
    require('chromium (Debian package chromium)', browser, 'apt-get install chromium')
    require('chromedriver (Debian package chromium-driver)', driver,
            'apt-get install chromium-driver')
    return browser, driver


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory):
    """The tiny Restormer of the tool tests with fixed random weights."""
    from restorelab.apis import init_model
    torch.manual_seed(0)
    model = init_model(TINY_CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='module')
def server(browser_stack, tiny_checkpoint, tmp_path_factory):
    """The app serving ``Tiny`` and ``Broken`` (a checkpoint that does not fit its config) from
    --models, and a benchmark config's ``TinyBench`` and ``identity``."""
    folder = tmp_path_factory.mktemp('server')
    broken = folder / 'broken.pth'
    torch.save({'state_dict': {'arch.not_a_layer.weight': torch.zeros(3)}}, broken)
    bench = folder / 'bench.py'
    bench.write_text(
        f'models = [dict(name="TinyBench", config={TINY_CONFIG!r}, checkpoint={tiny_checkpoint!r}),\n'
        '          dict(name="identity", type="identity")]\n'
        'datasets = [dict(name="Mine", config="configs/_base_/datasets/rain200h.py", '
        'data_root="unused")]\n')
    srv = Server(['--models', f'Tiny={TINY_CONFIG}:{tiny_checkpoint}',
                  f'Broken={TINY_CONFIG}:{broken}', '--bench', str(bench)],
                 str(folder / 'server.log'))
    yield srv
    srv.stop()


@pytest.fixture
def browser(browser_stack, tmp_path):
    (tmp_path / 'downloads').mkdir()
    chrome = new_browser(browser_stack, tmp_path / 'downloads')
    yield chrome
    chrome.quit()
