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


def test_download_names_are_image_and_model():
    from restorelab.webui import output_name
    taken = set()
    assert output_name('10.png', 'prenet_rain100h', taken) == '10_prenet_rain100h.png'
    assert output_name('10.png (2)', 'prenet_rain100h', taken) == '10_2_prenet_rain100h.png'
    assert output_name('my photo.jpg', 'PReNet (Rain100H)', taken) == 'my_photo_PReNet_Rain100H.png'
    assert output_name('10.png', 'prenet_rain100h', taken) == '10_prenet_rain100h_2.png'


def test_errors_name_the_upload_not_the_server_path():
    from restorelab.webui import as_uploaded
    path = '/tmp/restorelab-webui-x/uploads/0f3c9a/broken.png'
    text = f"cannot decode image file '{path}': not an image"
    assert as_uploaded(text, [path], ['broken.png']) == \
        "cannot decode image file 'broken.png': not an image"


def test_whole_image_progress_says_so_instead_of_step_0_of_1():
    from restorelab.webui import progress_shown
    assert progress_shown(0.0, 'Tiny on a.png: step 0/1') == (None, 'Tiny on a.png: running, whole image')
    assert progress_shown(0.5, 'Tiny on a.png: step 3/6') == (0.5, 'Tiny on a.png: step 3/6')


def test_the_protocol_defaults_to_the_models_one():
    from restorelab.webui import ModelChoice, default_protocol
    prenet = ModelChoice('PReNet', dict(zoo='prenet_rain100h'))
    restormer = ModelChoice('Restormer', dict(config='configs/restormer/restormer_rain200h.py',
                                              checkpoint='x.pth'))
    identity = ModelChoice('identity', dict(type='identity'))
    protocol, why = default_protocol([prenet, identity])
    assert protocol == 'rcdnet' and "test configs score with" in why
    protocol, why = default_protocol([prenet, restormer])
    assert protocol == 'restormer' and 'disagree (PReNet: rcdnet, Restormer: restormer)' in why
