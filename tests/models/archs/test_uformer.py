"""Uformer: official key layout, Uformer-B parameter count, window sizes and masks, padding."""
import pytest
import torch

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.uformer import Uformer, relative_position_index, shifted_window_mask
from restorelab.registry import MODELS

# Every level one block of width 4 * 2**level, windows of 2; at img_size 32 the
# bottleneck grid is 2x2, so its window stays 2 and its (only) block is unshifted.
TINY = dict(img_size=32, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1], win_size=2)


def block_keys(prefix, dim, heads, win, modulator=False):
    """The release's LeWinTransformerBlock layout (linear projection, LeFF, ratio 4)."""
    keys = [(f'{prefix}.modulator.weight', (win * win, dim))] if modulator else []
    return keys + [
        (f'{prefix}.norm1.weight', (dim,)),
        (f'{prefix}.norm1.bias', (dim,)),
        (f'{prefix}.attn.relative_position_bias_table', ((2 * win - 1) ** 2, heads)),
        (f'{prefix}.attn.relative_position_index', (win * win, win * win)),
        (f'{prefix}.attn.qkv.to_q.weight', (dim, dim)),
        (f'{prefix}.attn.qkv.to_q.bias', (dim,)),
        (f'{prefix}.attn.qkv.to_kv.weight', (2 * dim, dim)),
        (f'{prefix}.attn.qkv.to_kv.bias', (2 * dim,)),
        (f'{prefix}.attn.proj.weight', (dim, dim)),
        (f'{prefix}.attn.proj.bias', (dim,)),
        (f'{prefix}.norm2.weight', (dim,)),
        (f'{prefix}.norm2.bias', (dim,)),
        (f'{prefix}.mlp.linear1.0.weight', (4 * dim, dim)),
        (f'{prefix}.mlp.linear1.0.bias', (4 * dim,)),
        (f'{prefix}.mlp.dwconv.0.weight', (4 * dim, 1, 3, 3)),
        (f'{prefix}.mlp.dwconv.0.bias', (4 * dim,)),
        (f'{prefix}.mlp.linear2.0.weight', (dim, 4 * dim)),
        (f'{prefix}.mlp.linear2.0.bias', (dim,)),
    ]


def conv(prefix, cout, cin, k):
    return [(f'{prefix}.weight', (cout, cin, k, k)), (f'{prefix}.bias', (cout,))]


def deconv(prefix, cin, cout):
    return [(f'{prefix}.weight', (cin, cout, 2, 2)), (f'{prefix}.bias', (cout,))]


# ZhendongWang6/Uformer model.py with TINY (modulators in the decoder).
TINY_OFFICIAL_KEYS = [
    *conv('input_proj.proj.0', 4, 3, 3),
    *conv('output_proj.proj.0', 3, 8, 3),
    *block_keys('encoderlayer_0.blocks.0', 4, 1, 2),
    *conv('dowsample_0.conv.0', 8, 4, 4),
    *block_keys('encoderlayer_1.blocks.0', 8, 1, 2),
    *conv('dowsample_1.conv.0', 16, 8, 4),
    *block_keys('encoderlayer_2.blocks.0', 16, 2, 2),
    *conv('dowsample_2.conv.0', 32, 16, 4),
    *block_keys('encoderlayer_3.blocks.0', 32, 2, 2),
    *conv('dowsample_3.conv.0', 64, 32, 4),
    *block_keys('conv.blocks.0', 64, 4, 2),
    *deconv('upsample_0.deconv.0', 64, 32),
    *block_keys('decoderlayer_0.blocks.0', 64, 4, 2, modulator=True),
    *deconv('upsample_1.deconv.0', 64, 16),
    *block_keys('decoderlayer_1.blocks.0', 32, 2, 2, modulator=True),
    *deconv('upsample_2.deconv.0', 32, 8),
    *block_keys('decoderlayer_2.blocks.0', 16, 1, 2, modulator=True),
    *deconv('upsample_3.deconv.0', 16, 4),
    *block_keys('decoderlayer_3.blocks.0', 8, 1, 2, modulator=True),
]


def test_tiny_state_dict_matches_official_layout_in_order():
    got = [(k, tuple(v.shape)) for k, v in Uformer(**TINY).state_dict().items()]
    assert got == TINY_OFFICIAL_KEYS


def test_default_is_uformer_b_with_its_parameter_count():
    model = MODELS.build(dict(type='Uformer'))
    assert count_parameters(model) == 50_880_946
    assert model.size_multiple == 128
    # img_size 128 (the release's train_ps): the 8x8 bottleneck keeps 8x8 windows, unshifted.
    assert [b.shift_size for b in model.conv.blocks] == [0, 0]
    assert [b.shift_size for b in model.encoderlayer_3.blocks[:2]] == [0, 4]
    assert [b.shift_size for b in Uformer(img_size=256).conv.blocks] == [0, 4]


def test_relative_position_index_is_the_swin_layout():
    idx = relative_position_index(2)
    # Tokens (0,0),(0,1),(1,0),(1,1); index = (dy + 1) * 3 + (dx + 1).
    assert idx.tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]


def test_shifted_window_mask_separates_rolled_regions():
    mask = shifted_window_mask(4, 4, 2, 1, torch.device('cpu'))
    assert mask.shape == (4, 4, 4)
    assert torch.equal(mask[0], torch.zeros(4, 4))  # top-left window: one region
    # Bottom-right window: four regions, each token sees only itself.
    assert torch.equal(mask[3], torch.full((4, 4), -100.0).fill_diagonal_(0.0))


def test_non_square_and_odd_inputs():
    model = Uformer(**TINY).eval()
    assert model.size_multiple == 32
    with torch.no_grad():
        assert model(torch.rand(1, 3, 32, 64)).shape == (1, 3, 32, 64)
    restorer = MODELS.build(dict(type='ImageRestorer', arch=dict(type='Uformer', **TINY), pixel_loss=None))
    with torch.no_grad():
        out = restorer.restore(torch.rand(1, 3, 19, 41))
    assert out.shape == (1, 3, 19, 41) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match='H=19, W=41 must be multiples of 32'):
        model(torch.rand(1, 3, 19, 41))


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='need 9 entries'):
        Uformer(depths=[1, 1])
    with pytest.raises(ValueError, match="only token_projection='linear'"):
        Uformer(**TINY, token_projection='conv')
    with pytest.raises(ValueError, match='a modulator needs 8x8 windows .* raise img_size'):
        Uformer(img_size=32, embed_dim=4, depths=[1] * 9, win_size=8)
