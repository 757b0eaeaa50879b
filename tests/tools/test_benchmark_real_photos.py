"""tools/benchmark.py on real-photo-like sets: NIQE and BRISQUE on an unpaired folder (the
paper's Table 2 layout, configs/_base_/datasets/real_rain.py), --limit, --quantize truncate,
the contact sheets, and the exit status when every model failed on a set."""
import os

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from tool_helpers import REPO, read_json, run_tool

from restorelab.apis import init_model
from restorelab.benchmark import run_benchmark
from restorelab.benchmark.runner import CONTACT_SHEET
from restorelab.engine.hooks.visualization import image_grid
from restorelab.evaluation.functional import compute_metrics
from restorelab.evaluation.functional.brisque import (brisque, brisque_features,
                                                      fit_brisque_params, load_brisque_params,
                                                      write_libsvm_files)
from restorelab.evaluation.functional.niqe import (fit_niqe_params, load_niqe_params, niqe,
                                                   rgb_to_luma)
from restorelab.utils.image_io import imread_rgb, imwrite_rgb

PHOTOS = [data.astronaut()[100:292, 150:342], data.coffee()[50:242, 100:292],
          data.chelsea()[20:212, 100:292], data.rocket()[100:292, 100:292]]
ROW_HEIGHT = CONTACT_SHEET['height']


def _rainy(img, seed):
    """Bright diagonal streaks over a photo."""
    rng = np.random.default_rng(seed)
    out = img.astype(np.float64)
    for _ in range(40):
        y, x = rng.integers(0, img.shape[0] - 12), rng.integers(0, img.shape[1] - 4)
        for t in range(12):
            out[y + t, x + t // 4] = 0.4 * out[y + t, x + t // 4] + 0.6 * 235
    return out.round().astype(np.uint8)


@pytest.fixture(scope='module')
def real(tmp_path_factory):
    root = tmp_path_factory.mktemp('realbench')
    # NIQE and BRISQUE models fitted on clean, noisy and blurred crops (as the metric tests do).
    mu, cov = fit_niqe_params(PHOTOS)
    np.savez(root / 'niqe.npz', mu_pris_param=mu, cov_pris_param=cov)
    feats, scores = [], []
    for img in PHOTOS[:3]:
        for sigma, score in ((0, 0), (10, 25), (25, 60)):
            noisy = np.clip(img + np.random.default_rng(1).normal(0, sigma, img.shape), 0, 255)
            feats.append(brisque_features(rgb_to_luma(noisy.astype(np.uint8), 'gray')))
            scores.append(score)
    write_libsvm_files(fit_brisque_params(feats, scores), root / 'allmodel', root / 'allrange')
    # Real photos: JPEGs of different sizes; a paired set named 1..12 (natural order matters).
    os.makedirs(root / 'photos')
    for i, img in enumerate(PHOTOS):
        h, w = (160, 192) if i % 2 else (192, 144)
        bgr = cv2.cvtColor(_rainy(img[:h, :w], i), cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(root / 'photos' / f'IMG_{i:02d}.jpg'), bgr,
                           [cv2.IMWRITE_JPEG_QUALITY, 95])
    for i in range(1, 13):
        clean = PHOTOS[i % 4][(i % 3) * 8:(i % 3) * 8 + 48, 10:74]
        imwrite_rgb(root / 'paired' / 'test' / 'input' / f'{i}.png', _rainy(clean, 100 + i))
        imwrite_rgb(root / 'paired' / 'test' / 'target' / f'{i}.png', clean)
    torch.manual_seed(0)
    (root / 'prenet.py').write_text(
        "model = dict(type='ImageRestorer', arch=dict(type='PReNet', recurrent_iter=1), "
        "pixel_loss=dict(type='L1Loss'))\n")
    torch.save(init_model(str(root / 'prenet.py')).arch.state_dict(), root / 'prenet.pth')
    (root / 'bench.py').write_text(f"""
_root = {str(root)!r}
models = [
    dict(name='Rainy', type='identity'),
    dict(name='PReNet-1', config=_root + '/prenet.py', checkpoint=_root + '/prenet.pth',
         convert='prenet'),
    dict(name='Missing', config=_root + '/prenet.py', checkpoint=_root + '/none.pth'),
]
datasets = [
    dict(name='Paired', config='configs/_base_/datasets/rain200h.py', data_root=_root + '/paired',
         protocol='rcdnet', cfg_options={{'test_dataloader.num_workers': 0}}),
    dict(name='RealPhotos', config='configs/_base_/datasets/real_rain.py',
         data_root=_root + '/photos', cfg_options={{'test_dataloader.num_workers': 0,
         'test_evaluator': [dict(type='NIQE', params_file=_root + '/niqe.npz'),
                            dict(type='BRISQUE', params_file=_root)]}}),
]
cost = dict(shape=(3, 32, 32), runs=1, warmup=0)
""")
    out = root / 'out'
    res = run_tool(['tools/benchmark.py', str(root / 'bench.py'), '--out', str(out),
                    '--save-images', '--limit', '3', '--sheet-images', '2', '--no-progress'])
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(root=root, out=out, res=res, results=read_json(out / 'results.json'))


def test_real_photos_are_scored_with_niqe_and_brisque(real):
    results, out, root = real['results'], real['out'], real['root']
    niqe_params = load_niqe_params(str(root / 'niqe.npz'))
    brisque_params = load_brisque_params(str(root))
    for model in ('Rainy', 'PReNet-1'):
        cell = results['cells'][f'{model}|RealPhotos']
        assert cell['status'] == 'ok' and list(cell['mean']) == ['NIQE', 'BRISQUE']
        assert [i['key'] for i in cell['images']] == ['IMG_00', 'IMG_01', 'IMG_02']
        for record in cell['images']:
            if model == 'Rainy':  # the identity scores the decoded photo itself
                img = imread_rgb(root / 'photos' / f'{record["key"]}.jpg')
            else:
                img = imread_rgb(out / 'images' / model / 'RealPhotos' / f'{record["key"]}.png')
            assert record['NIQE'] == niqe(img, *niqe_params)
            assert record['BRISQUE'] == brisque(img, brisque_params)
        assert cell['mean']['BRISQUE'] == float(np.mean([i['BRISQUE'] for i in cell['images']]))
    table = (out / 'table.md').read_text()
    assert '| Model | Paired PSNR ↑ | Paired SSIM ↑ | RealPhotos NIQE ↓ | RealPhotos BRISQUE ↓ |' \
        in table
    assert ('Sets: Paired: PSNR, SSIM (rcdnet protocol) from configs/_base_/datasets/rain200h.py; '
            'RealPhotos: NIQE, BRISQUE from configs/_base_/datasets/real_rain.py.') in table
    assert 'Missing on Paired, Missing on RealPhotos: model did not load' in table


def test_limit_scores_the_first_images_in_natural_order_and_says_so(real):
    results, out = real['results'], real['out']
    assert results['limit'] == 3
    cell = results['cells']['PReNet-1|Paired']
    assert [i['key'] for i in cell['images']] == ['1', '2', '3']
    assert sorted(os.listdir(out / 'images' / 'PReNet-1' / 'Paired')) == ['1.png', '2.png',
                                                                          '3.png']
    table = (out / 'table.md').read_text()
    assert 'Only the first 3 images of each set were scored (--limit 3)' in table
    # --limit measures the cost with one run and says so.
    assert results['cost_settings']['runs'] == 1 and results['cost_settings']['warmup'] == 0
    assert 'Latency: one run without warm-up (--limit: a rough figure)' in table


def test_contact_sheet_shows_input_models_and_ground_truth(real):
    out, root = real['out'], real['root']
    assert real['results']['contact_sheets'] == {
        'Paired': 'contact_sheets/Paired.png', 'RealPhotos': 'contact_sheets/RealPhotos.png'}
    assert '[Paired](contact_sheets/Paired.png)' in (out / 'table.md').read_text()
    sheet = imread_rgb(out / 'contact_sheets' / 'Paired.png')
    # Two rows (--sheet-images 2); tiles: rainy input, PReNet-1, Missing, ground truth.
    rain = imread_rgb(root / 'paired' / 'test' / 'input' / '1.png')
    pred = imread_rgb(out / 'images' / 'PReNet-1' / 'Paired' / '1.png')
    gt = imread_rgb(root / 'paired' / 'test' / 'target' / '1.png')
    expected = image_grid([
        ('1', [('rainy input', rain), ('PReNet-1', pred), ('Missing', None),
               ('ground truth', gt)]),
        ('2', [('rainy input', imread_rgb(root / 'paired' / 'test' / 'input' / '2.png')),
               ('PReNet-1', imread_rgb(out / 'images' / 'PReNet-1' / 'Paired' / '2.png')),
               ('Missing', None), ('ground truth', imread_rgb(root / 'paired' / 'test' / 'target' /
                                                               '2.png'))])], **CONTACT_SHEET)
    assert np.array_equal(sheet, expected)
    assert sheet.shape[0] == 2 * (ROW_HEIGHT + 6) + 6
    # Below its label band, the first tile is the rainy input scaled to the row height.
    scaled = cv2.resize(rain, (round(64 * ROW_HEIGHT / 48), ROW_HEIGHT),
                        interpolation=cv2.INTER_CUBIC)
    top, left = 6, 120
    assert np.array_equal(sheet[top + 40:top + ROW_HEIGHT, left:left + scaled.shape[1]],
                          scaled[40:])
    # The model that failed gets a grey tile, not a hole or a crash.
    tile_left = left + 2 * (scaled.shape[1] + 6)
    assert (sheet[top + 40:top + 60, tile_left + 2:tile_left + 20] == 128).all()
    photos = imread_rgb(out / 'contact_sheets' / 'RealPhotos.png')
    assert photos.shape[0] == 2 * (ROW_HEIGHT + 6) + 6  # no ground truth tile, two rows


def test_quantize_truncate_scores_and_saves_truncated_outputs(real, tmp_path):
    root = real['root']
    results = run_benchmark(str(root / 'bench.py'), str(tmp_path / 'trunc'), progress=False,
                            log=lambda *a: None, measure_costs=False, limit=3,
                            quantize='truncate', save_images=True, models='Rainy,PReNet-1',
                            datasets='Paired')
    assert results['inference']['quantize'] == 'truncate'
    rounded = real['results']['cells']['PReNet-1|Paired']
    cell = results['cells']['PReNet-1|Paired']
    for record in cell['images']:
        saved = imread_rgb(tmp_path / 'trunc' / 'images' / 'PReNet-1' / 'Paired' /
                           f'{record["key"]}.png')
        before = imread_rgb(real['out'] / 'images' / 'PReNet-1' / 'Paired' /
                            f'{record["key"]}.png')
        diff = before.astype(int) - saved.astype(int)
        assert diff.min() == 0 and diff.max() == 1
        gt = imread_rgb(root / 'paired' / 'test' / 'target' / f'{record["key"]}.png')
        assert record['PSNR'] == compute_metrics(saved, gt, 'rcdnet')['psnr']
    assert cell['mean']['PSNR'] != rounded['mean']['PSNR']
    # The rainy input is its own file's values in either mode.
    assert results['cells']['Rainy|Paired']['mean'] == real['results']['cells'][
        'Rainy|Paired']['mean']
    assert 'predictions truncated to 8 bits' in (tmp_path / 'trunc' / 'table.md').read_text()


def test_every_model_failing_on_a_set_exits_1_with_the_reason_once(tmp_path):
    """configs/benchmarks/real_rain_photos.py where data/RealRain holds no photos: every cell
    fails (before any released model is fetched), and the tool says why once and exits 1."""
    res = run_tool([os.path.join(REPO, 'tools', 'benchmark.py'),
                    os.path.join(REPO, 'configs', 'benchmarks', 'real_rain_photos.py'),
                    '--no-cost', '--no-progress', '--out', str(tmp_path / 'out')], cwd=tmp_path,
                   env={'RESTORELAB_ZOO_CACHE': str(tmp_path / 'cache')})
    assert res.returncode == 1, res.stderr[-2000:]
    errors = [line for line in res.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and 'Traceback' not in res.stderr
    assert errors[0].startswith('error: every model failed on RealRain: dataset did not load: ')
    assert os.path.join('data', 'RealRain') in errors[0] and 'docs/datasets.md' in errors[0]
    assert not (tmp_path / 'cache').exists()  # nothing was downloaded
