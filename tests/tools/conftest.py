import pytest
from tool_helpers import TINY_CONFIG, data_root_options, make_rain200_folder, run_tool


@pytest.fixture(scope='session')
def rain_root(tmp_path_factory):
    return make_rain200_folder(str(tmp_path_factory.mktemp('Rain200tiny')))


@pytest.fixture(scope='session')
def trained(tmp_path_factory, rain_root):
    """One 20-iteration training run shared by the tests that read its outputs."""
    work = str(tmp_path_factory.mktemp('work') / 'tiny')
    res = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', work,
                    '--cfg-options', *data_root_options(rain_root)])
    assert res.returncode == 0, res.stderr[-3000:]
    return work, res
