"""PSNR/SSIM runner metrics give the functional numbers through mmengine's Evaluator."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from restorelab.evaluation.functional import compute_metrics_from_float
from restorelab.evaluation.metrics import PSNR, SSIM
from restorelab.registry import METRICS
from restorelab.structures.data_sample import DataSample


def _samples(n=3, h=24, w=28, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        gt = torch.rand(3, h, w, generator=gen)
        pred = (gt + 0.05 * torch.randn(3, h, w, generator=gen)).clamp(0, 1)
        out.append(DataSample(gt_img=gt, pred_img=pred,
                              metainfo=dict(key=f'img{i}', img_path=f'rain/img{i}.png')))
    return out


def _functional(sample, protocol, name, crop_border=0):
    pred = sample.pred_img.numpy().transpose(1, 2, 0)
    gt = sample.gt_img.numpy().transpose(1, 2, 0)
    return compute_metrics_from_float(pred, gt, protocol, crop_border, metrics=(name,))[name]


@pytest.mark.parametrize('protocol', ['restormer', 'rcdnet', 'basicsr'])
def test_evaluator_gives_the_mean_of_functional_values_with_prefix(protocol):
    init_default_scope('restorelab')
    evaluator = Evaluator([dict(type='PSNR', protocol=protocol, prefix='Rain200H'),
                           dict(type='SSIM', protocol=protocol, prefix='Rain200H')])
    samples = _samples()
    evaluator.process(samples[:2])  # two batches, as a loop would send them
    evaluator.process(samples[2:])
    result = evaluator.evaluate(3)
    assert set(result) == {'Rain200H/PSNR', 'Rain200H/SSIM'}
    psnrs = [_functional(s, protocol, 'psnr') for s in samples]
    ssims = [_functional(s, protocol, 'ssim') for s in samples]
    assert result['Rain200H/PSNR'] == pytest.approx(np.mean(psnrs), abs=1e-12)
    assert result['Rain200H/SSIM'] == pytest.approx(np.mean(ssims), abs=1e-12)
    per_image = evaluator.metrics[0].per_image
    assert [r['key'] for r in per_image] == ['img0', 'img1', 'img2']
    assert [r['PSNR'] for r in per_image] == pytest.approx(psnrs, abs=1e-12)


def test_without_prefix_the_keys_are_psnr_and_ssim_and_crop_border_applies():
    metrics = [METRICS.build(dict(type='PSNR', protocol='basicsr', crop_border=3)),
               METRICS.build(dict(type='SSIM', protocol='basicsr', crop_border=3))]
    samples = _samples(n=2)
    for m in metrics:
        m.process(None, [s.to_dict() for s in samples])
    assert metrics[0].evaluate(2) == {'PSNR': pytest.approx(
        np.mean([_functional(s, 'basicsr', 'psnr', 3) for s in samples]), abs=1e-12)}
    assert metrics[1].evaluate(2) == {'SSIM': pytest.approx(
        np.mean([_functional(s, 'basicsr', 'ssim', 3) for s in samples]), abs=1e-12)}


def test_padded_samples_beyond_the_dataset_size_are_dropped():
    metric = PSNR(protocol='restormer')
    samples = _samples(n=3)
    metric.process(None, samples)  # DataSamples are accepted too
    assert metric.evaluate(2)['PSNR'] == pytest.approx(
        np.mean([_functional(s, 'restormer', 'psnr') for s in samples[:2]]), abs=1e-12)


def test_identical_prediction_gives_inf_psnr_and_unit_ssim():
    gt = torch.rand(3, 20, 20, generator=torch.Generator().manual_seed(1))
    sample = DataSample(gt_img=gt, pred_img=gt.clone(), metainfo=dict(key='same'))
    psnr_metric, ssim_metric = PSNR(), SSIM()
    psnr_metric.process(None, [sample.to_dict()])
    ssim_metric.process(None, [sample.to_dict()])
    assert psnr_metric.evaluate(1) == {'PSNR': math.inf}
    assert ssim_metric.evaluate(1)['SSIM'] == pytest.approx(1.0, abs=1e-12)


def test_prediction_is_rounded_to_8_bits_before_scoring():
    gt = torch.full((3, 16, 16), 100 / 255)
    # Less than half a level away from the gt: equal after rounding to 8 bits.
    sample = DataSample(gt_img=gt, pred_img=gt + 0.4 / 255, metainfo=dict(key='near'))
    metric = PSNR()
    metric.process(None, [sample.to_dict()])
    assert metric.evaluate(1) == {'PSNR': math.inf}


def test_quantize_truncate_scores_the_truncated_prediction():
    gt = torch.full((3, 16, 16), 100 / 255)
    # 0.6 of a level above the gt: rounds up to 101, truncates back to 100.
    sample = DataSample(gt_img=gt, pred_img=gt + 0.6 / 255, metainfo=dict(key='near'))
    values = {}
    for mode in ('round', 'truncate'):
        metric = PSNR(quantize=mode)
        metric.process(None, [sample.to_dict()])
        values[mode] = metric.evaluate(1)['PSNR']
    assert values['truncate'] == math.inf
    assert values['round'] == pytest.approx(20 * math.log10(255), abs=1e-9)  # off by 1 level
    with pytest.raises(ValueError, match="unknown output quantisation 'floor'"):
        SSIM(quantize='floor')


def test_sample_without_gt_is_refused_naming_it():
    sample = DataSample(pred_img=torch.rand(3, 16, 16), metainfo=dict(key='real_rain_07'))
    with pytest.raises(ValueError, match="sample 'real_rain_07' has no gt_img"):
        PSNR().process(None, [sample.to_dict()])


def test_sizes_that_differ_are_refused_naming_the_files():
    sample = DataSample(gt_img=torch.rand(3, 16, 18), pred_img=torch.rand(3, 16, 16),
                        metainfo=dict(key='k', img_path='rain/k.png', gt_path='gt/k.png'))
    with pytest.raises(ValueError, match=r'rain/k\.png \(16x16\) vs ground truth gt/k\.png \(16x18\)'):
        SSIM().process(None, [sample.to_dict()])


def test_unknown_protocol_and_misplaced_crop_border_are_refused_at_build():
    with pytest.raises(ValueError, match='unknown evaluation protocol'):
        PSNR(protocol='Restormer')
    with pytest.raises(ValueError, match="use protocol='basicsr'"):
        SSIM(protocol='rcdnet', crop_border=2)


def test_the_other_convention_is_the_same_class_with_rgb_channels():
    from restorelab.evaluation.functional import compute_metrics

    cfg = dict(type='PSNR', protocol='rcdnet', prefix='A')
    assert PSNR.other_convention(cfg) == dict(cfg, channels='rgb')
    assert SSIM.other_convention(dict(cfg, channels='rgb'))['channels'] == 'y'
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)  # 8-bit images, as saved results
    pred = np.clip(gt.astype(int) + rng.integers(-9, 10, gt.shape), 0, 255).astype(np.uint8)
    metric = PSNR(protocol='rcdnet', channels='rgb')
    assert metric.name == 'PSNR_RGB'
    metric.process(None, [dict(key='a', pred_img=pred, gt_img=gt)])
    assert metric.compute_metrics(metric.results) == {'PSNR_RGB': compute_metrics(
        pred.transpose(1, 2, 0), gt.transpose(1, 2, 0), 'rcdnet', channels='rgb')['psnr']}
