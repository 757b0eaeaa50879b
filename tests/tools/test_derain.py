"""tools/derain.py and restorelab.apis.derain on the images people actually have."""
import importlib.util
import os
import struct

import cv2
import numpy as np
import pytest
import torch
from tool_helpers import REPO, TINY_CONFIG, run_tool

from restorelab.apis import derain, init_model, restore_image
from restorelab.models.restorers.inference_utils import auto_tile
from restorelab.utils.image_io import (exif_orientation, imread_image, imread_rgb,
                                       imwrite_image, imwrite_rgb)


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """A tiny Restormer (tests/data/configs/tiny_rain200h.py) with fixed random weights."""
    torch.manual_seed(0)
    model = init_model(TINY_CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _jpeg_with_orientation(img_rgb, orientation):
    """JPEG bytes of ``img_rgb`` with an EXIF APP1 segment holding ``orientation``."""
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    tiff = b'MM' + struct.pack('>HI', 42, 8) + struct.pack('>H', 1) + \
        struct.pack('>HHIHH', 0x0112, 3, 1, orientation, 0) + struct.pack('>I', 0)
    payload = b'Exif\x00\x00' + tiff
    app1 = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
    data = buf.tobytes()
    return data[:2] + app1 + data[2:]


def test_exif_orientation_is_applied_like_opencv_color_decoding(tmp_path):
    img = _photo(40, 64)
    for orientation in (3, 6, 8):
        path = tmp_path / f'o{orientation}.jpg'
        path.write_bytes(_jpeg_with_orientation(img, orientation))
        assert exif_orientation(path.read_bytes()) == orientation
        upright = imread_image(str(path))
        # OpenCV's colour decoding applies EXIF orientation: the reference.
        ref = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(upright, ref)
        assert upright.shape[:2] == ((64, 40) if orientation in (6, 8) else (40, 64))
        np.testing.assert_array_equal(imread_rgb(str(path)), upright)  # datasets agree
        assert imread_image(str(path), apply_exif=False).shape[:2] == (40, 64)


def test_derain_api_keeps_layout_depth_and_alpha(tiny_checkpoint):
    model = init_model(TINY_CONFIG, tiny_checkpoint)
    rgb = _photo(30, 45)
    out = derain(model, rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, restore_image(model, rgb))
    gray16 = (_photo(30, 45)[..., 0].astype(np.uint16) * 257)
    out = derain(model, gray16)
    assert out.shape == (30, 45) and out.dtype == np.uint16
    rgba = np.dstack([rgb, np.arange(30 * 45).reshape(30, 45) % 256]).astype(np.uint8)
    out = derain(model, rgba)
    assert out.shape == (30, 45, 4)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], restore_image(model, rgb))
    with pytest.raises(ValueError, match='uint8/uint16'):
        derain(model, rgb.astype(np.float32))


def test_derain_tool_on_a_mixed_folder(tmp_path):
    # An even smaller Restormer: this test is about files, and it derains a 1.5-megapixel photo.
    config = tmp_path / 'micro.py'
    config.write_text(f"_base_ = [{TINY_CONFIG!r}]\n"
                      'model = dict(arch=dict(dim=4, heads=[1, 1, 1, 1], '
                      'ffn_expansion_factor=1.0))\n')
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'micro.pth')
    torch.save({'state_dict': init_model(str(config)).state_dict()}, checkpoint)
    src, out = tmp_path / 'photos', tmp_path / 'out'
    imwrite_rgb(str(src / 'big.jpg'), _photo(1000, 1500))
    imwrite_rgb(str(src / 'deep' / 'sixteen.png'), _photo(48, 40).astype(np.uint16) * 257)
    imwrite_image(str(src / 'deep' / 'gray.jpg'), _photo(36, 52)[..., 1])
    rgba = np.dstack([_photo(33, 47), np.full((33, 47), 128, np.uint8)])
    imwrite_image(str(src / 'rgba.png'), rgba)
    (src / 'deep' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    res = run_tool(['tools/derain.py', str(config), checkpoint, str(src), '--out', str(out),
                    '--tile', '256', '--tile-overlap', '32', '--device', 'cpu'],
                   env=dict(OMP_NUM_THREADS='1'))
    assert res.returncode == 1, res.stderr[-2000:]
    assert 'broken.png' in res.stderr and 'cannot decode' in res.stderr
    assert '1 of 5 file(s) failed' in res.stderr
    assert 'wrote 4 image(s)' in res.stdout
    big = imread_image(str(out / 'big.jpg'))
    assert big.shape == (1000, 1500, 3) and big.dtype == np.uint8
    sixteen = imread_image(str(out / 'deep' / 'sixteen.png'))
    assert sixteen.shape == (48, 40, 3) and sixteen.dtype == np.uint16
    assert (sixteen % 257 != 0).any()  # real 16-bit output, not 8-bit scaled
    gray = imread_image(str(out / 'deep' / 'gray.jpg'))
    assert gray.shape == (36, 52)
    out_rgba = imread_image(str(out / 'rgba.png'))
    assert out_rgba.shape == (33, 47, 4)
    np.testing.assert_array_equal(out_rgba[..., 3], 128)
    assert not (out / 'deep' / 'broken.png').exists()


def _derain_main():
    spec = importlib.util.spec_from_file_location('derain_tool', os.path.join(REPO, 'tools',
                                                                              'derain.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_derain_tool_bad_arguments_exit_2(tmp_path, tiny_checkpoint, capsys):
    main = _derain_main()
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'nope')]) == 2
    assert 'nope' in capsys.readouterr().err
    imwrite_rgb(str(tmp_path / 'a.png'), _photo(16, 16))
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'a.png'), '--out',
                 str(tmp_path / 'o'), '--tile', '100']) == 2
    assert 'test_cfg.tile=100' in capsys.readouterr().err
    # A device torch does not know, or CUDA where there is none: one line, exit 2.
    for device, said in (('tpu', "device 'tpu': expected 'cpu' or 'cuda' (or 'cuda:N')"),
                         ('cuda:x', "device 'cuda:x': expected")) + (
            () if torch.cuda.is_available() else
            (('cuda', 'device cuda: CUDA is not available on this machine; use cpu'), )):
        assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'a.png'), '--out',
                     str(tmp_path / 'o'), '--device', device]) == 2
        err = capsys.readouterr().err
        assert said in err and 'Traceback' not in err, err
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'a.png'), '--out',
                 str(tmp_path / 'o'), '--no-progress']) == 0
    assert imread_image(str(tmp_path / 'o' / 'a.png')).shape == (16, 16, 3)


def test_derain_tool_says_jpeg_and_writes_png_when_asked(tmp_path, tiny_checkpoint, capsys):
    main = _derain_main()
    imwrite_rgb(str(tmp_path / 'in' / 'a.jpg'), _photo(16, 16))
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'in'), '--out',
                 str(tmp_path / 'same'), '--no-progress']) == 0
    assert '1 JPEG input(s) are written as JPEG at quality 95 (lossy)' in capsys.readouterr().out
    assert os.listdir(tmp_path / 'same') == ['a.jpg']
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'in'), '--out',
                 str(tmp_path / 'png'), '--no-progress', '--format', 'png']) == 0
    assert 'JPEG' not in capsys.readouterr().out
    assert os.listdir(tmp_path / 'png') == ['a.png']
    assert imread_image(str(tmp_path / 'png' / 'a.png')).shape == (16, 16, 3)


def test_derain_tool_bf16_switch(tmp_path, tiny_checkpoint):
    """--bf16 derains under bfloat16 autocast: the image differs from the float32 one by a few grey
    levels at most."""
    main = _derain_main()
    imwrite_rgb(str(tmp_path / 'a.png'), _photo(24, 32))
    for flag, out in (([], 'f32'), (['--bf16'], 'bf16')):
        assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'a.png'), '--out', str(tmp_path / out),
                     '--no-progress', *flag]) == 0
    f32, bf16 = (imread_image(str(tmp_path / d / 'a.png')).astype(int) for d in ('f32', 'bf16'))
    assert 0 < np.abs(f32 - bf16).max() <= 8


pytestmark = pytest.mark.usefixtures('single_thread')  # small convolutions: fastest on one thread


def _prenet(recurrent_iter=2):
    torch.manual_seed(0)
    model = init_model(dict(model=dict(
        type='ImageRestorer', arch=dict(type='PReNet', recurrent_iter=recurrent_iter),
        pixel_loss=dict(type='L1Loss'))))
    # Larger random weights than the default init, so that tile borders would show.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    return model


def test_tiled_equals_whole_for_prenet_with_overlap_at_least_its_receptive_field():
    # Each PReNet stage is 13 3x3 convs (radius 13); 2 stages: receptive field 53 pixels.
    model = _prenet(2)
    img = _photo(120, 150, seed=3)
    with torch.no_grad():
        whole = restore_image(model, img).astype(int)
        tiled = restore_image(model, img, dict(tile=96, tile_overlap=56)).astype(int)
        naive = restore_image(model, img, dict(tile=96, tile_overlap=4)).astype(int)
    assert np.abs(tiled - whole).max() <= 1
    assert np.abs(naive - whole).max() > 1  # tiles without context do differ


def test_tiling_bounds_what_the_arch_sees_as_images_grow(tiny_checkpoint):
    """Activation memory follows the largest tensor the arch runs on: with tiling it is one
    tile however large the image (only the image-sized input/output buffers grow)."""
    model = init_model(TINY_CONFIG, tiny_checkpoint)
    seen = []
    model.arch.register_forward_hook(lambda m, inp, out: seen.append(tuple(inp[0].shape)))
    for side in (64, 128, 256):
        seen.clear()
        with torch.no_grad():
            restore_image(model, _photo(side, side), dict(tile=32, tile_overlap=8))
        assert set(seen) == {(1, 3, 32, 32)}
        assert len(seen) >= (side // 32) ** 2


def test_derain_tool_tile_auto_tiles_large_images_only(tmp_path, tiny_checkpoint, capsys):
    main = _derain_main()
    model = init_model(TINY_CONFIG, tiny_checkpoint)
    small, large = _photo(64, 80), _photo(500, 600)  # 600x500 pixels > 512x512: tiled
    imwrite_rgb(str(tmp_path / 'in' / 'small.png'), small)
    imwrite_rgb(str(tmp_path / 'in' / 'large.png'), large)
    assert main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'in'), '--out', str(tmp_path / 'o'),
                 '--tile', 'auto', '--no-progress']) == 0
    tile = auto_tile(504, 600, size_multiple=8)  # the padded size
    assert tile is not None
    with torch.no_grad():
        np.testing.assert_array_equal(imread_image(str(tmp_path / 'o' / 'large.png')),
                                      restore_image(model, large, dict(tile=tile, tile_overlap=32)))
        np.testing.assert_array_equal(imread_image(str(tmp_path / 'o' / 'small.png')),
                                      restore_image(model, small))
    with pytest.raises(SystemExit) as info:
        main([TINY_CONFIG, tiny_checkpoint, str(tmp_path / 'in'), '--tile', 'big'])
    assert info.value.code == 2
    assert "'big' is neither a tile size in pixels nor 'auto'" in capsys.readouterr().err
