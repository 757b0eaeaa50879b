"""apis.load_restorer: every kind of model reference becomes a model in one place, and a
reference of no known kind is refused naming what would fit."""
import os

import numpy as np
import pytest
import torch

from restorelab.apis import describe_ref, init_model, load_restorer, model_ref, restore_image
from restorelab.utils.errors import (CheckpointMismatchError, CheckpointNotFoundError,
                                     ModelRefError, UnknownModelError)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TINY_CONFIG = os.path.join(REPO, 'tests', 'data', 'configs', 'tiny_rain200h.py')
PRENET = ("model = dict(type='ImageRestorer', arch=dict(type='PReNet', recurrent_iter=1), "
          "pixel_loss=dict(type='L1Loss'))\n")


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('refs')
    torch.manual_seed(0)
    tiny = init_model(TINY_CONFIG)
    torch.save({'state_dict': tiny.state_dict()}, root / 'tiny.pth')
    (root / 'prenet.py').write_text(PRENET)
    prenet = init_model(str(root / 'prenet.py'))
    torch.save(prenet.arch.state_dict(), root / 'official.pth')  # as the PReNet release saves it
    return root, tiny, prenet


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_config_and_checkpoint_official_checkpoint_and_identity(files):
    root, tiny, prenet = files
    model = load_restorer(dict(config=TINY_CONFIG, checkpoint=str(root / 'tiny.pth')),
                          test_cfg=dict(tile=16, tile_overlap=4))
    assert _same(model, tiny) and model.test_cfg['tile'] == 16 and not model.training
    converted = load_restorer(dict(config=str(root / 'prenet.py'),
                                   checkpoint=str(root / 'official.pth'), convert='prenet'))
    assert _same(converted, prenet)
    rain = np.random.default_rng(0).integers(0, 256, (12, 14, 3), dtype=np.uint8)
    for ref in ('identity', dict(type='identity')):
        np.testing.assert_array_equal(restore_image(load_restorer(ref), rain), rain)
    assert describe_ref('identity') == 'the input itself (the score of doing nothing)'
    assert describe_ref(dict(config='c.py', checkpoint='o.pth', convert='prenet')) == \
        "c.py + o.pth (official, converted by 'prenet')"


def test_the_forms_of_a_reference():
    assert model_ref('prenet_rain100h')['kind'] == model_ref(dict(zoo='prenet_rain100h'))['kind'] \
        == 'released'
    onnx = [model_ref(r) for r in ('m.onnx', dict(onnx='m.onnx', config='c.py'),
                                   dict(config='c.py', checkpoint='m.onnx', backend='onnxruntime'))]
    assert [(r['kind'], r['onnx'], r['checkpoint']) for r in onnx] == [('onnx', 'm.onnx', None)] * 3
    assert model_ref(dict(config='c.py'))['kind'] == 'model'  # the config's initial weights


@pytest.mark.parametrize('ref, error, message', [
    (dict(checkpoint='x.pth'), ModelRefError, r"is of no known kind: it is dict\(config="),
    (dict(config='c.py', weights='x.pth'), ModelRefError, r"unknown key\(s\) \['weights'\]"),
    (dict(zoo='prenet_rain100h', checkpoint='x.pth'), ModelRefError,
     r"a released reference takes no \['checkpoint'\]"),
    (dict(type='model2', config='c.py'), ModelRefError, r"type='model2'; expected 'identity'"),
    (42, ModelRefError, 'a model reference is dict'),
    ('no_such_model', UnknownModelError, 'not a released model name.*prenet_rain100h'),
    (TINY_CONFIG, ModelRefError, 'is a file alone: a config needs its checkpoint'),
])
def test_a_reference_of_no_known_kind_is_refused(ref, error, message):
    with pytest.raises(error, match=message):
        load_restorer(ref)


def test_files_that_do_not_fit_are_named(files, tmp_path):
    root, *_ = files
    with pytest.raises(CheckpointNotFoundError, match='missing.pth.* does not exist'):
        load_restorer(dict(config=TINY_CONFIG, checkpoint=str(tmp_path / 'missing.pth')))
    with pytest.raises(CheckpointMismatchError, match='official.pth.*does not fit the model'):
        load_restorer(dict(config=TINY_CONFIG, checkpoint=str(root / 'official.pth')))
    with pytest.raises(ModelRefError, match='runs in ONNX Runtime on the CPU'):
        load_restorer('m.onnx', device='cuda')
