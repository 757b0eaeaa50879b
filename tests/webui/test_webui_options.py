"""restorelab/webui.py without a browser: the page's options and names (no gradio needed)."""
import pytest

from restorelab.webui import options_to_test_cfg, unique_names


def test_the_page_options_become_test_cfg():
    assert options_to_test_cfg('auto', 64, 16, False) == dict(tile='auto', tile_overlap=16,
                                                                self_ensemble=False)
    assert options_to_test_cfg('off', 64, 32.0, True)['tile'] is None
    assert options_to_test_cfg('fixed', 64.0, 32, True) == dict(tile=64, tile_overlap=32,
                                                                  self_ensemble=True)
    with pytest.raises(TypeError):
        options_to_test_cfg('fixed', None, 32, False)
    assert unique_names(['/u/1/a.png', '/u/2/a.png', '/u/b.png']) == ['a.png', 'a.png (2)', 'b.png']
