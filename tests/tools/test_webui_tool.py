"""tools/webui.py's command line: which models it serves, and user mistakes (exit 2, one
paragraph). The page itself is tested in a real browser in tests/webui."""
import importlib.util
import os

import pytest
from tool_helpers import REPO, TINY_CONFIG, run_tool


def _webui_tool():
    spec = importlib.util.spec_from_file_location('webui_tool', os.path.join(REPO, 'tools', 'webui.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_arguments_it_serves_the_demo_models_or_says_to_run_make_demo(tmp_path, monkeypatch):
    tool = _webui_tool()
    bench = tmp_path / 'demo' / 'benchmark_demo.py'
    monkeypatch.setattr(tool, 'DEMO_BENCH', str(bench))  # absolute: os.path.join keeps it
    with pytest.raises(tool.UserInputError, match=r'Run `make demo` first, or give --models'):
        tool.resolve_models(tool.parse_args([]))
    bench.parent.mkdir()
    bench.write_text(
        f"models = [dict(name='Toy', config={TINY_CONFIG!r}, checkpoint={TINY_CONFIG!r}),\n"
        "          dict(name='identity', type='identity')]\n"
        "datasets = [dict(name='SynRain', config='configs/_base_/datasets/rain200h.py', "
        "data_root='x')]\n")
    choices, inference, intro = tool.resolve_models(tool.parse_args([]))
    assert [c.label for c in choices] == ['Toy', 'identity']
    assert 'toy models `make demo` trained' in intro and '--models CONFIG.py:CHECKPOINT.pth' in intro
    # explicit models replace the demo's
    choices, _, intro = tool.resolve_models(tool.parse_args(['--models', 'prenet_rain100h']))
    assert [c.label for c in choices] == ['prenet_rain100h'] and intro == ''


def test_without_gradio_it_says_how_to_install_it(monkeypatch, capsys):
    tool = _webui_tool()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'gradio' else real(name, *a))
    assert tool.main(['--models', 'prenet_rain100h']) == 2
    assert "needs gradio, which is not installed: pip install -e '.[webui]'" in capsys.readouterr().err


@pytest.mark.parametrize('args, message', [
    (['--models', 'no_such_model'], 'not a released model name'),
    (['--models', f'{TINY_CONFIG}:missing.pth'], "the checkpoint file 'missing.pth' does not exist"),
    (['--bench', 'missing_bench.py'], "benchmark config 'missing_bench.py' does not exist"),
])
def test_bad_model_arguments_exit_2(args, message):
    if importlib.util.find_spec('gradio') is None:
        pytest.skip("gradio is not installed: pip install -e '.[webui]'")
    res = run_tool(['tools/webui.py', *args], timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert message in res.stderr and 'Traceback' not in res.stderr
