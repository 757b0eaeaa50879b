import pytest
import torch
import torch.nn.functional as F

from restorelab.models.archs.common import (BiasFreeLayerNorm, ChannelLayerNorm, DropPath,
                                            PixelShuffleUpsample, PixelUnshuffleDownsample,
                                            WithBiasLayerNorm, window_partition, window_reverse)


def test_with_bias_layer_norm_equals_torch_layer_norm_over_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    norm = WithBiasLayerNorm(5).double()
    with torch.no_grad():
        norm.weight.copy_(torch.arange(1.0, 6.0))
        norm.bias.copy_(torch.arange(5.0) / 10)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (5,), norm.weight, norm.bias, eps=1e-5)
    torch.testing.assert_close(norm(x), expected.permute(0, 3, 1, 2), rtol=0, atol=1e-12)


def test_bias_free_layer_norm_does_not_subtract_the_mean():
    # One pixel with channels (1, 3): biased variance 1, so x / sqrt(1 + 1e-5) * weight.
    x = torch.tensor([1.0, 3.0], dtype=torch.float64).view(1, 2, 1, 1)
    norm = BiasFreeLayerNorm(2).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([2.0, 1.0]))
    out = norm(x).flatten()
    scale = 1 / (1 + 1e-5) ** 0.5
    torch.testing.assert_close(out, torch.tensor([2 * scale, 3 * scale], dtype=torch.float64))


def test_channel_layer_norm_keeps_official_key_layout_and_rejects_unknown_type():
    assert list(ChannelLayerNorm(4, 'WithBias').state_dict()) == ['body.weight', 'body.bias']
    assert list(ChannelLayerNorm(4, 'BiasFree').state_dict()) == ['body.weight']
    with pytest.raises(ValueError, match="LayerNorm_type must be one of .*'Biasfree'"):
        ChannelLayerNorm(4, 'Biasfree')


def test_resampling_shapes_and_keys():
    x = torch.randn(1, 8, 6, 10)
    down = PixelUnshuffleDownsample(8)
    up = PixelShuffleUpsample(8)
    assert down(x).shape == (1, 16, 3, 5)
    assert up(x).shape == (1, 4, 12, 20)
    assert {k: tuple(v.shape) for k, v in down.state_dict().items()} == {'body.0.weight': (4, 8, 3, 3)}
    assert {k: tuple(v.shape) for k, v in up.state_dict().items()} == {'body.0.weight': (16, 8, 3, 3)}


def test_window_partition_layout_and_round_trip():
    x = torch.arange(2 * 4 * 6 * 3, dtype=torch.float32).view(2, 4, 6, 3)
    windows = window_partition(x, 2)
    assert windows.shape == (2 * 2 * 3, 2, 2, 3)
    # The second window of the first image is rows 0-1, columns 2-3.
    torch.testing.assert_close(windows[1], x[0, 0:2, 2:4])
    # The first window of the second image follows the 6 windows of the first.
    torch.testing.assert_close(windows[6], x[1, 0:2, 0:2])
    torch.testing.assert_close(window_reverse(windows, 2, 4, 6), x)
    with pytest.raises(ValueError, match='H=4, W=6 must be multiples of window_size=4'):
        window_partition(x, 4)


def test_drop_path_identity_in_eval_and_drops_whole_samples_in_training():
    x = torch.ones(400, 3, 2, 2)
    layer = DropPath(0.25)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    torch.manual_seed(0)
    out = layer(x)
    per_sample = out.flatten(1)
    # Every sample is either all zeros or all 1 / 0.75.
    kept = (per_sample == 1 / 0.75).all(dim=1)
    dropped = (per_sample == 0).all(dim=1)
    assert bool((kept | dropped).all())
    assert 60 < int(dropped.sum()) < 140  # ~100 of 400 expected
