"""DDN: the release's variable layout, exact parameter count, the guided filter and the
detail network written out, conversion of TensorFlow checkpoints and its refusals."""
import importlib.util
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import load_checkpoint

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.ddn import box_filter, guided_filter
from restorelab.models.converters import (convert_official_checkpoint, get_converter,
                                         load_official_checkpoint)
from restorelab.registry import MODELS
from restorelab.utils.errors import CheckpointConversionError
from tests.fixtures.tf_checkpoint import write_tf_checkpoint

pytestmark = pytest.mark.usefixtures('single_thread')

REPO = Path(__file__).resolve().parents[3]


def tf_layer(i, c_in, c_out):
    """One layer of the release's ``inference`` (training.py): tf.layers.conv2d + batch norm."""
    return [(f'layer_{i}/bn_{i}/beta', (c_out,)), (f'layer_{i}/bn_{i}/gamma', (c_out,)),
            (f'layer_{i}/bn_{i}/moving_mean', (c_out,)), (f'layer_{i}/bn_{i}/moving_variance', (c_out,)),
            (f'layer_{i}/conv_{i}/bias', (c_out,)), (f'layer_{i}/conv_{i}/kernel', (3, 3, c_in, c_out))]


def release_layout(num_units=12, feats=16):
    layers = [(1, 3, feats), *[(i, feats, feats) for i in range(2, 2 * num_units + 2)],
              (2 * num_units + 2, feats, 3)]
    return sorted(k for layer in layers for k in tf_layer(*layer))  # a bundle is sorted by name


def restorelab_layout(num_units=12, feats=16):
    def layer(i, c_in, c_out):
        return [(f'layer_{i}.conv.weight', (c_out, c_in, 3, 3)), (f'layer_{i}.conv.bias', (c_out,)),
                (f'layer_{i}.bn.weight', (c_out,)), (f'layer_{i}.bn.bias', (c_out,)),
                (f'layer_{i}.bn.running_mean', (c_out,)), (f'layer_{i}.bn.running_var', (c_out,)),
                (f'layer_{i}.bn.num_batches_tracked', ())]
    last = 2 * num_units + 2
    return (layer(1, 3, feats) + [k for i in range(2, last) for k in layer(i, feats, feats)]
            + layer(last, feats, 3))


def numel(layout):
    return sum(int(np.prod(shape)) for _, shape in layout)


def release_arrays(layout, seed=0):
    rng = np.random.default_rng(seed)
    arrays = OrderedDict((k, rng.standard_normal(shape).astype(np.float32) / 4) for k, shape in layout)
    for k in arrays:
        if k.endswith('moving_variance'):
            arrays[k] = np.abs(arrays[k]) + 0.5
    return arrays


def test_release_layout_counts():
    # What CVPR17_training_code/model/trained/model.index holds: 156 variables, 58,175 values,
    # of which 806 are batch-norm statistics (the 57,369 trainable ones are training.py's count).
    layout = release_layout()
    assert len(layout) == 156 and numel(layout) == 58_175
    assert numel([k for k in layout if 'moving' in k[0]]) == 806


def test_layout_and_parameter_count():
    model = MODELS.build(dict(type='DDN'))
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == restorelab_layout()
    assert count_parameters(model) == 57_369 and model.size_multiple == 1
    assert (model.radius, model.eps) == (15, 1.0)
    assert all(m.eps == 1e-3 and m.momentum == 0.01 for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))


def test_converter_renames_and_transposes():
    variables = release_arrays(release_layout())
    tf_state = {k: torch.from_numpy(v) for k, v in variables.items()}
    tf_state['layer_5/conv_5/kernel/Momentum'] = torch.zeros(3, 3, 16, 16)  # optimizer slot
    tf_state['global_step'] = torch.tensor(100)
    converted = get_converter('ddn')(tf_state)
    assert [(k, tuple(v.shape)) for k, v in converted.items()] == restorelab_layout()
    kernel = variables['layer_26/conv_26/kernel']  # (kh, kw, in, out)
    assert converted['layer_26.conv.weight'][2, 7, 0, 1] == kernel[0, 1, 7, 2]
    for tf_name, ours in (('bn_3/gamma', 'bn.weight'), ('bn_3/beta', 'bn.bias'),
                          ('bn_3/moving_mean', 'bn.running_mean'),
                          ('bn_3/moving_variance', 'bn.running_var'), ('conv_3/bias', 'conv.bias')):
        assert torch.equal(converted[f'layer_3.{ours}'], tf_state[f'layer_3/{tf_name}'])
    MODELS.build(dict(type='DDN')).load_state_dict(converted, strict=True)


def window_mean(x, r):
    """Mean over the (2r+1)^2 window inside the image, pixel by pixel (float64 loops)."""
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            out[..., i, j] = x[..., max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].mean((-2, -1))
    return out


@pytest.mark.parametrize('size, radius', [((9, 12), 2), ((5, 7), 15), ((40, 35), 15)])
def test_box_filter_sums_the_window_inside_the_image(size, radius):
    x = torch.rand(1, 2, *size, dtype=torch.float64)
    ones = torch.ones(1, 1, *size, dtype=torch.float64)
    torch.testing.assert_close(box_filter(x, radius) / box_filter(ones, radius),
                               window_mean(x, radius), rtol=0, atol=1e-12)
    if radius >= max(size):  # the window holds the whole image
        assert torch.all(box_filter(ones, radius) == size[0] * size[1])


def test_guided_filter_is_he_et_al():
    x = torch.rand(2, 3, 10, 13, dtype=torch.float64)
    r, eps = 3, 0.5
    mean_x = window_mean(x, r)
    var = window_mean(x * x, r) - mean_x ** 2
    a = var / (var + eps)  # self-guided: cov(I, p) = var(I)
    b = mean_x - a * mean_x
    expected = window_mean(a, r) * x + window_mean(b, r)
    torch.testing.assert_close(guided_filter(x, x, r, eps), expected, rtol=0, atol=1e-12)


def conv_bn(layer, x):
    x = F.conv2d(x, layer.conv.weight, layer.conv.bias, padding=1)
    return F.batch_norm(x, layer.bn.running_mean, layer.bn.running_var, layer.bn.weight,
                        layer.bn.bias, eps=1e-3)


def reference_ddn(model, x):
    detail = x - guided_filter(x, x, 15, 1.0)
    shortcut = F.relu(conv_bn(model.layer_1, detail))
    for unit in range(model.num_units):
        out = F.relu(conv_bn(model.layer(2 * unit + 2), shortcut))
        shortcut = shortcut + F.relu(conv_bn(model.layer(2 * unit + 3), out))
    return x + conv_bn(model.layer(2 * model.num_units + 2), shortcut)


def randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=gen, dtype=value.dtype) * 0.4
                            + (0.5 if name.endswith('running_var') else -0.2))
    return model


def test_forward_is_the_detail_network():
    model = randomize(MODELS.build(dict(type='DDN', num_units=2))).double().eval()
    x = torch.rand(2, 3, 20, 17, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_ddn(model, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize('size', [(7, 11), (33, 40)])
def test_any_size_keeps_shape(size):
    model = MODELS.build(dict(type='DDN')).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, *size)).shape == (1, 3, *size)


def test_release_checkpoint_and_zip_round_trip_into_image_restorer(tmp_path):
    variables = release_arrays(release_layout(), seed=1)
    index, data = write_tf_checkpoint(tmp_path / 'model' / 'trained' / 'model', variables)
    archive = tmp_path / 'CVPR17_training_code.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        z.write(index, 'CVPR17_training_code/model/trained/model.index')
        z.write(data, 'CVPR17_training_code/model/trained/model.data-00000-of-00001')
    reference = MODELS.build(dict(type='DDN')).eval()
    reference.load_state_dict(load_official_checkpoint(index, 'ddn'))
    restorer = MODELS.build(dict(type='ImageRestorer', arch=dict(type='DDN'),
                                    pixel_loss=dict(type='MSELoss'))).eval()
    meta = convert_official_checkpoint('ddn', archive, tmp_path / 'ddn.pth')
    assert meta['num_params'] == 58_175 + 26 and meta['source_sha256']
    load_checkpoint(restorer, str(tmp_path / 'ddn.pth'), map_location='cpu', strict=True)
    x = torch.rand(1, 3, 24, 36)
    with torch.no_grad():
        torch.testing.assert_close(restorer(x, mode='tensor'), reference(x),
                                   rtol=0, atol=0)


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_checkpoint_tool',
                                                  REPO / 'tools' / 'convert_checkpoint.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_other_variants_and_models_are_refused(tmp_path, capsys):
    write_tf_checkpoint(tmp_path / 'small' / 'model', release_arrays(release_layout(num_units=1)))
    with pytest.raises(CheckpointConversionError,
                       match=r'does not fit DDN: 154 missing keys .* The file holds '
                             r"dict\(type='DDN', num_features=16, num_units=1\): pass a config "
                             r'whose model.arch is that'):
        load_official_checkpoint(tmp_path / 'small' / 'model', 'ddn')
    assert len(load_official_checkpoint(tmp_path / 'small' / 'model', 'ddn',
                                        arch=dict(type='DDN', num_units=1))) == 28
    # An MSPFN checkpoint: its variables are named as unexpected keys.
    write_tf_checkpoint(tmp_path / 'mspfn' / 'epoch50', {
        'generator/rnn1/weight': np.zeros((3, 3, 64, 3), np.float32),
        'generator/rnn1/alpha': np.zeros(64, np.float32)})
    code = load_tool().main(['ddn', str(tmp_path / 'mspfn' / 'epoch50'), str(tmp_path / 'out.pth')])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / 'out.pth').exists()
    assert 'does not fit DDN: 182 missing keys (first: layer_1.conv.weight' in err
    assert '2 unexpected keys (first: generator/rnn1/alpha, generator/rnn1/weight)' in err
