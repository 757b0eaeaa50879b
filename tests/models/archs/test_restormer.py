"""Restormer: official key layout, parameter counts, maths of its blocks, padding."""
import pytest
import torch

from restorelab.models.archs.common import count_parameters
from restorelab.models.archs.restormer import GDFN, MDTA, Restormer
from restorelab.registry import MODELS

TINY = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4])


def block_keys(prefix, dim, heads, hidden):
    """The official TransformerBlock layout (WithBias norms, bias=False)."""
    return [
        (f'{prefix}.norm1.body.weight', (dim,)),
        (f'{prefix}.norm1.body.bias', (dim,)),
        (f'{prefix}.attn.temperature', (heads, 1, 1)),
        (f'{prefix}.attn.qkv.weight', (3 * dim, dim, 1, 1)),
        (f'{prefix}.attn.qkv_dwconv.weight', (3 * dim, 1, 3, 3)),
        (f'{prefix}.attn.project_out.weight', (dim, dim, 1, 1)),
        (f'{prefix}.norm2.body.weight', (dim,)),
        (f'{prefix}.norm2.body.bias', (dim,)),
        (f'{prefix}.ffn.project_in.weight', (2 * hidden, dim, 1, 1)),
        (f'{prefix}.ffn.dwconv.weight', (2 * hidden, 1, 3, 3)),
        (f'{prefix}.ffn.project_out.weight', (dim, hidden, 1, 1)),
    ]


# swz30/Restormer restormer_arch.py with dim 8, one block per level, heads [1, 2, 2, 4]:
# hidden widths int(8 * 2.66) = 21, int(16 * 2.66) = 42, int(32 * 2.66) = 85, int(64 * 2.66) = 170.
TINY_OFFICIAL_KEYS = [
    ('patch_embed.proj.weight', (8, 3, 3, 3)),
    *block_keys('encoder_level1.0', 8, 1, 21),
    ('down1_2.body.0.weight', (4, 8, 3, 3)),
    *block_keys('encoder_level2.0', 16, 2, 42),
    ('down2_3.body.0.weight', (8, 16, 3, 3)),
    *block_keys('encoder_level3.0', 32, 2, 85),
    ('down3_4.body.0.weight', (16, 32, 3, 3)),
    *block_keys('latent.0', 64, 4, 170),
    ('up4_3.body.0.weight', (128, 64, 3, 3)),
    ('reduce_chan_level3.weight', (32, 64, 1, 1)),
    *block_keys('decoder_level3.0', 32, 2, 85),
    ('up3_2.body.0.weight', (64, 32, 3, 3)),
    ('reduce_chan_level2.weight', (16, 32, 1, 1)),
    *block_keys('decoder_level2.0', 16, 2, 42),
    ('up2_1.body.0.weight', (32, 16, 3, 3)),
    *block_keys('decoder_level1.0', 16, 1, 42),
    *block_keys('refinement.0', 16, 1, 42),
    ('output.weight', (3, 16, 3, 3)),
]


def test_tiny_state_dict_matches_official_layout_in_order():
    got = [(k, tuple(v.shape)) for k, v in Restormer(**TINY).state_dict().items()]
    assert got == TINY_OFFICIAL_KEYS


def test_default_is_the_deraining_release_with_its_parameter_count():
    model = MODELS.build(dict(type='Restormer'))
    assert count_parameters(model) == 26_126_644
    assert model.size_multiple == 8
    assert count_parameters(Restormer(**TINY)) == 208_217


def test_bias_and_biasfree_options_change_the_layout_as_released():
    sd = Restormer(**TINY, bias=True, LayerNorm_type='BiasFree').state_dict()
    assert 'encoder_level1.0.norm1.body.bias' not in sd
    assert sd['encoder_level1.0.attn.qkv.bias'].shape == (24,)
    assert sd['output.bias'].shape == (3,)
    assert 'patch_embed.proj.bias' not in sd  # the release never passes bias to it
    dual = Restormer(**TINY, inp_channels=6, dual_pixel_task=True).state_dict()
    assert dual['skip_conv.weight'].shape == (16, 8, 1, 1)


def test_mdta_equals_per_head_channel_attention():
    torch.manual_seed(0)
    dim, heads = 6, 2
    mdta = MDTA(dim, heads, bias=True).double()
    with torch.no_grad():
        mdta.temperature.copy_(torch.tensor([0.5, 2.0]).view(2, 1, 1))
    x = torch.randn(1, dim, 3, 5, dtype=torch.float64)
    q, k, v = mdta.qkv_dwconv(mdta.qkv(x)).chunk(3, dim=1)
    outs = []
    for h in range(heads):
        ch = slice(h * dim // heads, (h + 1) * dim // heads)
        qh = q[0, ch].reshape(3, -1)
        kh = k[0, ch].reshape(3, -1)
        vh = v[0, ch].reshape(3, -1)
        qh = qh / qh.norm(dim=1, keepdim=True)
        kh = kh / kh.norm(dim=1, keepdim=True)
        attn = torch.softmax(qh @ kh.T * mdta.temperature[h, 0, 0], dim=1)  # (3, 3) channels
        outs.append((attn @ vh).reshape(3, 3, 5))
    expected = mdta.project_out(torch.cat(outs)[None])
    torch.testing.assert_close(mdta(x), expected, rtol=0, atol=1e-12)


def test_gdfn_gates_the_first_half_with_gelu():
    torch.manual_seed(0)
    ffn = GDFN(4, 2.66, bias=False).double()  # hidden int(4 * 2.66) = 10
    assert ffn.project_out.weight.shape == (4, 10, 1, 1)
    x = torch.randn(2, 4, 5, 3, dtype=torch.float64)
    h = ffn.dwconv(ffn.project_in(x))
    expected = ffn.project_out(torch.nn.functional.gelu(h[:, :10]) * h[:, 10:])
    torch.testing.assert_close(ffn(x), expected, rtol=0, atol=1e-12)


def test_odd_sized_input_goes_through_restorer_padding():
    restorer = MODELS.build(dict(type='ImageRestorer', arch=dict(type='Restormer', **TINY),
                                 pixel_loss=None))
    x = torch.rand(1, 3, 13, 21)
    with torch.no_grad():
        out = restorer.restore(x)
    assert out.shape == (1, 3, 13, 21)
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match=r'H=13, W=21 must be multiples of 8'):
        restorer.arch(x)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='need 4 entries'):
        Restormer(num_blocks=[1, 1, 1])
    with pytest.raises(ValueError, match='dim=8 is not divisible by num_heads=3'):
        MDTA(8, 3, bias=False)
    with pytest.raises(ValueError, match="LayerNorm_type must be one of"):
        Restormer(**TINY, LayerNorm_type='withbias')
