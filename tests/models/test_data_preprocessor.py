"""RestorationDataPreprocessor: stacking, gt checks and clear errors."""
import pytest
import torch

from restorelab.models.data_preprocessors import RestorationDataPreprocessor, stack_gt
from restorelab.registry import MODELS
from restorelab.structures import DataSample


def _batch(sizes, with_gt=True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i, (h, w) in enumerate(sizes):
        inputs.append(torch.rand(3, h, w, generator=gen))
        sample = DataSample(metainfo=dict(key=f'img{i}', img_path=f'rain/img{i}.png'))
        if with_gt:
            sample.gt_img = torch.rand(3, h, w, generator=gen)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_stacks_inputs_and_keeps_samples():
    pre = MODELS.build(dict(type='RestorationDataPreprocessor'))
    data = _batch([(5, 7), (5, 7)])
    out = pre(data, training=True)
    assert out['inputs'].shape == (2, 3, 5, 7) and out['inputs'].dtype == torch.float32
    assert torch.equal(out['inputs'][1], data['inputs'][1])
    assert out['data_samples'][0].key == 'img0'
    gt = stack_gt(out['data_samples'], like=out['inputs'])
    assert torch.equal(gt, torch.stack([s.gt_img for s in data['data_samples']]))


def test_accepts_a_stacked_tensor_and_no_samples():
    x = torch.rand(2, 3, 4, 4)
    out = RestorationDataPreprocessor()(dict(inputs=x))
    assert torch.equal(out['inputs'], x) and out['data_samples'] is None


def test_different_sizes_name_them_and_suggest_batch_size_1():
    with pytest.raises(ValueError, match=r'\(5, 7\), \(6, 7\).*batch_size=1'):
        RestorationDataPreprocessor()(_batch([(5, 7), (6, 7)]))


def test_rejects_wrong_dtype_range_and_shape():
    pre = RestorationDataPreprocessor()
    with pytest.raises(TypeError, match=r'inputs\[0\] \(rain/img0.png\) has dtype torch.uint8.*float32'):
        data = _batch([(4, 4)])
        data['inputs'] = [torch.zeros(3, 4, 4, dtype=torch.uint8)]
        pre(data)
    for bad, text in ((1.5, r'values in \[0\.\d+, 1\.5\]; expected \[0, 1\]'),
                      (float('nan'), r'values in .*nan')):
        data = _batch([(4, 4)])
        data['inputs'][0][0, 0, 0] = bad
        with pytest.raises(ValueError, match=text):
            pre(data)
    with pytest.raises(ValueError, match=r'shape \(1, 4, 4\); expected \(3, H, W\)'):
        pre(dict(inputs=[torch.zeros(1, 4, 4)]))
    with pytest.raises(ValueError, match='empty batch'):
        pre(dict(inputs=[]))


def test_rejects_bad_ground_truth():
    pre = RestorationDataPreprocessor()
    data = _batch([(4, 4)])
    data['data_samples'][0].gt_img = torch.rand(3, 4, 5)
    with pytest.raises(ValueError, match=r'gt_img of sample 0 \(rain/img0.png\) has shape \(3, 4, 5\)'):
        pre(data)
    data = _batch([(4, 4)])
    data['data_samples'][0].gt_img = data['data_samples'][0].gt_img * 255
    with pytest.raises(ValueError, match='gt_img of sample 0.*expected \\[0, 1\\]'):
        pre(data)
    with pytest.raises(ValueError, match='2 inputs but 1 data_samples'):
        data = _batch([(4, 4), (4, 4)])
        data['data_samples'] = data['data_samples'][:1]
        pre(data)


def test_stack_gt_requires_every_gt():
    samples = _batch([(4, 4), (4, 4)], with_gt=False)['data_samples']
    with pytest.raises(ValueError, match='sample img0 has no gt_img; training needs a paired dataset'):
        stack_gt(samples)
