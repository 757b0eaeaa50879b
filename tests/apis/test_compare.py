"""What the web app calls: automatic tiling, progress and cancelling between tiles, memory
errors with advice, the model list, and deraining several images with several models."""
import os

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from restorelab.apis import derain, init_model, restore_image
from restorelab.apis.compare import (Cancelled, derain_each, pair_by_name, score, to_rgb8)
from restorelab.apis.inference import InferenceMemoryError
from restorelab.utils.errors import ModelListError
from restorelab.webui import ModelCache, ModelChoice, model_choices, parse_model_arg
from restorelab.evaluation.functional import compute_metrics
from restorelab.models.restorers.inference_utils import (auto_tile, check_test_cfg,
                                                         count_arch_calls, restore_tensor,
                                                         tile_starts, tiled_forward)
from restorelab.utils.image_io import imread_image, imwrite_image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TINY_CONFIG = os.path.join(REPO, 'tests', 'data', 'configs', 'tiny_rain200h.py')


class CountingArch(nn.Module):
    """A cheap arch that counts its calls: a fixed 3x3 blur plus a shift that depends on the
    input's width, so a tiled result differs from a whole one."""
    size_multiple = 1

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            for c in range(3):
                self.conv.weight[c, c] = 1 / 9
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.conv(x) * 0.9 + x.shape[-1] / 10000


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(TINY_CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _photo(h, w, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, h // 8), max(2, w // 8), 3)).astype(np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return img.astype(np.uint16) * 257 if dtype == np.uint16 else img


# ------------------------------------------------------------------------- automatic tiling
def test_auto_tile_keeps_small_images_whole_and_tiles_large_ones():
    assert auto_tile(512, 512) is None
    assert auto_tile(321, 481) is None
    assert auto_tile(513, 512) == 512  # two tiles either way: the largest
    assert auto_tile(600, 800) == 416  # four tiles, as with 512, but 1.44x the pixels, not 2.2x
    assert auto_tile(3000, 4000, size_multiple=8) == 480
    assert auto_tile(3000, 4000, size_multiple=48) == 480
    assert auto_tile(20, 20, tile_overlap=2, max_pixels=100) == 8
    for h, w, m in ((600, 800, 1), (1200, 1600, 8), (3000, 4000, 8), (300, 2000, 16), (513, 2049, 4)):
        tile = auto_tile(h, w, m)
        assert tile % m == 0 and tile <= 512

        def tiles(size):
            return len(tile_starts(h, min(size, h), 32)) * len(tile_starts(w, min(size, w), 32))
        assert tiles(tile) == tiles(512 // m * m)  # no more tiles than the largest size needs
        assert tiles(tile - m) > tiles(tile)  # and the smallest tile that count allows
    with pytest.raises(ValueError, match='smaller than the tiles'):
        check_test_cfg(dict(tile='auto', tile_overlap=512))
    with pytest.raises(ValueError, match="'auto'"):
        check_test_cfg(dict(tile='big'))


def test_restore_tensor_auto_tile_equals_the_explicit_choice():
    arch = CountingArch()
    small = torch.rand(1, 3, 64, 80)
    torch.testing.assert_close(restore_tensor(arch, small, tile='auto'), arch(small), rtol=0, atol=0)
    large = torch.rand(1, 3, 520, 600)  # above 512x512: tiled
    got = restore_tensor(arch, large, tile='auto', tile_overlap=16)
    tile = auto_tile(520, 600, tile_overlap=16)
    assert tile < 512
    torch.testing.assert_close(got, tiled_forward(arch, large, tile, 16), rtol=0, atol=0)
    assert not torch.allclose(got, arch(large))
    # tiles of a size multiple of 8: padded first, then tiled
    got = restore_tensor(arch, large[..., :517, :599], size_multiple=8, tile='auto', tile_overlap=16)
    assert got.shape == (1, 3, 517, 599)


@pytest.mark.parametrize('cfg', [
    dict(), dict(tile=32, tile_overlap=8), dict(tile=32, tile_overlap=8, tile_batch_size=3),
    dict(tile=32, tile_overlap=8, self_ensemble=True), dict(self_ensemble=True),
    dict(tile='auto'), dict(tile=64, tile_overlap=4, size_multiple=8)])
def test_progress_counts_every_arch_call(cfg):
    arch = CountingArch()
    x = torch.rand(2, 3, 70, 90)
    seen = []
    restore_tensor(arch, x, progress=lambda done, total: seen.append((done, total)), **cfg)
    total = count_arch_calls(70, 90, batch=2, **cfg)
    assert arch.calls == total
    assert seen == [(i, total) for i in range(total + 1)]


def test_an_exception_from_progress_stops_between_tiles():
    arch = CountingArch()
    x = torch.rand(1, 3, 96, 96)

    def stop_after_three(done, total):
        if done == 3:
            raise Cancelled('stop')

    with pytest.raises(Cancelled):
        restore_tensor(arch, x, tile=32, tile_overlap=8, self_ensemble=True, progress=stop_after_three)
    assert arch.calls == 3 < count_arch_calls(96, 96, tile=32, tile_overlap=8, self_ensemble=True)


# ------------------------------------------------------------------------- memory errors
class OutOfMemoryArch(nn.Module):
    size_multiple = 1

    def __init__(self, message):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))
        self.message = message

    def forward(self, x):
        raise RuntimeError(self.message)


def _restorer(arch):
    from restorelab.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('restorelab')
    return MODELS.build(dict(type='ImageRestorer', arch=arch, pixel_loss=None)).eval()


def test_out_of_memory_becomes_advice_to_tile():
    cpu_message = ('[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can\'t '
                   'allocate memory: you tried to allocate 123456789 bytes.')
    model = _restorer(OutOfMemoryArch(cpu_message))
    with pytest.raises(InferenceMemoryError) as info:
        restore_image(model, _photo(30, 40))
    text = str(info.value)
    assert 'out of memory restoring a 40x30 image without tiling on cpu' in text
    assert 'tile=256' in text and '--tile 256' in text and 'DefaultCPUAllocator' in text
    with pytest.raises(InferenceMemoryError, match=r'in 256x256 tiles .*tile=128'):
        restore_image(model, _photo(30, 40), test_cfg=dict(tile=256))
    # a real allocation failure of this torch is recognised the same way
    with pytest.raises(RuntimeError) as real:
        torch.empty(1 << 50, dtype=torch.uint8)
    model = _restorer(OutOfMemoryArch(str(real.value)))
    with pytest.raises(InferenceMemoryError):
        derain(model, _photo(30, 40))
    # other errors pass unchanged
    model = _restorer(OutOfMemoryArch('shape mismatch'))
    with pytest.raises(RuntimeError, match='^shape mismatch$'):
        restore_image(model, _photo(30, 40))


# ------------------------------------------------------------------------- helpers
def test_to_rgb8_and_score_bring_any_image_to_8_bit_rgb():
    rgb = _photo(20, 24)
    np.testing.assert_array_equal(to_rgb8(rgb), rgb)
    np.testing.assert_array_equal(to_rgb8(rgb.astype(np.uint16) * 257), rgb)
    gray = rgb[..., 0]
    np.testing.assert_array_equal(to_rgb8(gray), np.repeat(gray[..., None], 3, axis=2))
    rgba = np.dstack([rgb, np.full((20, 24), 7, np.uint8)])
    np.testing.assert_array_equal(to_rgb8(rgba), rgb)
    other = _photo(20, 24, seed=1)
    assert score(rgb.astype(np.uint16) * 257, other, 'restormer') == compute_metrics(
        rgb, other, 'restormer')


def test_pair_by_name():
    pairs, unmatched = pair_by_name(['/u/a/12.jpg', '/u/b/13.png'], ['/g/x/13.png', '/g/y/99.png'])
    assert pairs == {'/u/b/13.png': '/g/x/13.png'} and unmatched == ['/g/y/99.png']
    pairs, unmatched = pair_by_name(['/u/rain.png'], ['/g/clean.png'])  # one beside one
    assert pairs == {'/u/rain.png': '/g/clean.png'} and unmatched == []
    assert pair_by_name(['/u/a.png'], None) == ({}, [])


# ------------------------------------------------------------------------- the model list
def test_parse_model_arg_forms(tiny_checkpoint, tmp_path):
    choice = parse_model_arg(f'{TINY_CONFIG}:{tiny_checkpoint}')
    assert choice == ModelChoice('tiny_rain200h', dict(config=TINY_CONFIG,
                                                       checkpoint=tiny_checkpoint))
    assert parse_model_arg(f'Mine={TINY_CONFIG}:{tiny_checkpoint}').label == 'Mine'
    assert parse_model_arg('prenet_rain100h') == ModelChoice('prenet_rain100h',
                                                             dict(zoo='prenet_rain100h'))
    assert parse_model_arg('Rainy=identity') == ModelChoice('Rainy', dict(type='identity'))
    assert parse_model_arg('x.onnx').ref == dict(onnx='x.onnx')
    with pytest.raises(ModelListError, match='checkpoint file .*missing.pth.* does not exist'):
        parse_model_arg(f'{TINY_CONFIG}:{tmp_path}/missing.pth')
    with pytest.raises(ModelListError, match='is a file alone: a config needs its checkpoint'):
        parse_model_arg(TINY_CONFIG)
    with pytest.raises(ModelListError, match='not a released model name.*prenet_rain100h'):
        parse_model_arg('no_such_model')


def test_model_choices_from_a_bench_config(tiny_checkpoint, tmp_path):
    bench = dict(
        models=[dict(name='A', config=TINY_CONFIG, checkpoint=tiny_checkpoint),
                dict(name='B', config=TINY_CONFIG,
                     checkpoint=dict(SetH=tiny_checkpoint, SetL=str(tmp_path / 'l.pth'))),
                dict(name='PReNet', zoo='prenet_rain100h'),
                dict(name='identity', type='identity')],
        datasets=[dict(name=n, config='configs/_base_/datasets/rain200h.py')
                  for n in ('SetH', 'SetL')],
        inference=dict(tile=64))
    choices, inference = model_choices([f'Mine={TINY_CONFIG}:{tiny_checkpoint}'], bench)
    assert [c.label for c in choices] == ['Mine', 'A', 'B (SetH)', 'B (SetL)', 'PReNet', 'identity']
    assert inference['tile'] == 64
    assert choices[3].ref['checkpoint'] == str(tmp_path / 'l.pth') and choices[-1].is_identity
    assert 'released model prenet_rain100h' in choices[4].describe()
    cache = ModelCache(inference)
    model = cache.get(choices[2])
    assert cache.get(choices[2]) is model and model.test_cfg['tile'] == 64
    assert cache.get(choices[-1]) is None
    with pytest.raises(ModelListError, match="label.*'A'"):
        model_choices([f'A={TINY_CONFIG}:{tiny_checkpoint}'], bench)


def test_a_wrong_checkpoint_fails_when_loaded_naming_the_file(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'arch.conv.weight': torch.zeros(1)}}, other)
    (choice, ), inference = model_choices([f'{TINY_CONFIG}:{other}'])
    with pytest.raises(Exception, match='other.pth.*does not fit'):
        ModelCache(inference).get(choice)


# ------------------------------------------------------------------------- derain_each
def test_derain_each_outputs_times_scores_and_errors(tiny_checkpoint, tmp_path):
    clean = _photo(36, 44, seed=3, dtype=np.uint16)
    rainy = clean.copy()
    rainy[::5] = 60000
    imwrite_image(tmp_path / 'r1.png', rainy)
    imwrite_image(tmp_path / 'gt' / 'r1.png', clean)
    (tmp_path / 'bad.png').write_bytes(b'not an image')
    bad_ckpt = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'x': torch.zeros(1)}}, bad_ckpt)
    choices, inference = model_choices([f'Tiny={TINY_CONFIG}:{tiny_checkpoint}',
                                        f'Broken={TINY_CONFIG}:{bad_ckpt}'])
    choices.append(ModelChoice('identity', dict(type='identity')))
    cache = ModelCache(inference)
    images = [str(tmp_path / 'r1.png'), str(tmp_path / 'bad.png')]
    pairs, _ = pair_by_name(images, [str(tmp_path / 'gt' / 'r1.png')])
    fractions = []
    results = list(derain_each(images, choices, cache.get, dict(tile=16, tile_overlap=4), pairs,
                               'restormer', progress=lambda f, text: fractions.append(f)))
    assert [(r.image, r.model) for r in results] == [
        ('r1.png', 'Tiny'), ('r1.png', 'Broken'), ('r1.png', 'identity'),
        ('bad.png', 'Tiny'), ('bad.png', 'Broken'), ('bad.png', 'identity')]
    tiny, broken, identity = results[:3]
    expected = derain(cache.get(choices[0]), imread_image(images[0]), dict(tile=16, tile_overlap=4))
    np.testing.assert_array_equal(tiny.output, expected)
    assert tiny.output.dtype == np.uint16 and tiny.seconds > 0
    assert tiny.metrics == score(expected, clean, 'restormer')
    assert identity.metrics == score(rainy, clean, 'restormer')
    assert broken.output is None and 'bad.pth' in broken.error and 'does not fit' in broken.error
    assert all('cannot decode image file' in r.error and 'bad.png' in r.error for r in results[3:])
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1


def test_derain_each_checks_options_per_model(tiny_checkpoint, tmp_path):
    imwrite_image(tmp_path / 'a.png', _photo(20, 20))
    choices, inference = model_choices([f'{TINY_CONFIG}:{tiny_checkpoint}'])
    (res, ) = derain_each([str(tmp_path / 'a.png')], choices, ModelCache(inference).get,
                          dict(tile=12, tile_overlap=4))
    assert 'tile=12 is not a multiple' in res.error and 'tiny_rain200h' in res.error


def test_derain_each_cancel_stops_between_tiles(tmp_path):
    imwrite_image(tmp_path / 'a.png', _photo(96, 96))
    arch = CountingArch()
    model = _restorer(arch)
    choice = ModelChoice('counting', dict(config='counting.py'))

    def stop_soon(fraction, text):
        if arch.calls >= 4:
            raise Cancelled(text)

    with pytest.raises(Cancelled, match='counting on a.png: step 4/'):
        list(derain_each([str(tmp_path / 'a.png')] * 2, [choice], lambda c: model,
                         dict(tile=16, tile_overlap=4, self_ensemble=True), progress=stop_soon))
    assert arch.calls == 4 < count_arch_calls(96, 96, tile=16, tile_overlap=4, self_ensemble=True)

