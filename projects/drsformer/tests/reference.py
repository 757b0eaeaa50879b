"""The release's straightforward formulation of DRSformer, kept to check the optimised plugin against.

Functions of the plugin's modules (their parameters, the release's maths and memory layout): the layer
norm over a (N, H*W, C) rearrangement, four top-k masks (four sorts, scatter, where) each softmaxed and
multiplied by v, the MSFN's grouped convs with chunk/cat, the MEFC's weighted experts concatenated
before the fuse conv; NCHW throughout. ``reference_forward(model, x)`` runs a whole DRSformer this way
(used by the tests and by benchmarks/drsformer_speed.py). Written from the release's description; no
release code.
"""
import torch
import torch.nn.functional as F
from einops import rearrange


def layer_norm(norm, x):
    """ChannelLayerNorm as released: (N, C, H, W) -> (N, H*W, C), normalise the last dim, back."""
    h, w = x.shape[-2:]
    t = rearrange(x, 'b c h w -> b (h w) c')
    var = t.var(-1, keepdim=True, unbiased=False)
    if norm.bias is None:
        t = t / torch.sqrt(var + 1e-5) * norm.weight
    else:
        t = (t - t.mean(-1, keepdim=True)) / torch.sqrt(var + 1e-5) * norm.weight + norm.bias
    return rearrange(t, 'b (h w) c -> b c h w', h=h, w=w)


def tksa(attn, x):
    """TKSA as released: four top-k masks, four softmaxes, four products with v, mixed afterwards."""
    b, c, h, w = x.shape
    heads = attn.num_heads
    q, k, v = attn.qkv_dwconv(attn.qkv(x)).chunk(3, dim=1)
    q, k, v = (rearrange(t, 'b (head c) h w -> b head c (h w)', head=heads) for t in (q, k, v))
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    ch = q.shape[2]
    scores = (q @ k.transpose(-2, -1)) * attn.temperature
    out = 0
    for count, weight in zip((int(ch / 2), int(ch * 2 / 3), int(ch * 3 / 4), int(ch * 4 / 5)), attn.mix_weights):
        mask = torch.zeros(b, heads, ch, ch, dtype=x.dtype, device=x.device)
        mask.scatter_(-1, torch.topk(scores, k=count, dim=-1, largest=True)[1], 1.)
        masked = torch.where(mask > 0, scores, torch.full_like(scores, float('-inf')))
        out = out + (masked.softmax(dim=-1) @ v) * weight
    out = rearrange(out, 'b head c (h w) -> b (head c) h w', head=heads, h=h, w=w)
    return attn.project_out(out)


def msfn(ffn, x):
    """MSFN as released: depth-wise 3x3/5x5, chunk, cross concatenation, grouped convs, cat, 1x1."""
    x = F.conv2d(x, ffn.project_in.weight, ffn.project_in.bias)
    a3, b3 = F.relu(F.conv2d(x, ffn.dwconv3x3.weight, ffn.dwconv3x3.bias, padding=1,
                             groups=ffn.dwconv3x3.groups)).chunk(2, dim=1)
    a5, b5 = F.relu(F.conv2d(x, ffn.dwconv5x5.weight, ffn.dwconv5x5.bias, padding=2,
                             groups=ffn.dwconv5x5.groups)).chunk(2, dim=1)
    x3 = F.relu(F.conv2d(torch.cat([a3, a5], 1), ffn.dwconv3x3_1.weight, ffn.dwconv3x3_1.bias, padding=1,
                         groups=ffn.hidden_features))
    x5 = F.relu(F.conv2d(torch.cat([b3, b5], 1), ffn.dwconv5x5_1.weight, ffn.dwconv5x5_1.bias, padding=2,
                         groups=ffn.hidden_features))
    return F.conv2d(torch.cat([x3, x5], 1), ffn.project_out.weight, ffn.project_out.bias)


def block(blk, x):
    x = x + tksa(blk.attn, layer_norm(blk.norm1, x))
    return x + msfn(blk.ffn, layer_norm(blk.norm2, x))


def expert_step(step, x, weights):
    """One MEFC step as released: each expert scaled by its gate weight, concatenated, fuse, ReLU, residual."""
    states = []
    for i, expert in enumerate(step.experts.values()):
        if hasattr(expert, 'dw1'):  # separable: dw, 1x1, ReLU, dw, 1x1
            y = expert.pw2(expert.dw2(F.relu(expert.pw1(expert.dw1(x)))))
        elif hasattr(expert, 'dw'):  # dilated: dw, 1x1
            y = expert.pw(expert.dw(x))
        else:
            y = expert(x)  # average pool
        states.append(y * weights[:, i].view(-1, 1, 1, 1))
    return F.relu(F.relu(step.fuse(torch.cat(states, dim=1))) + x)


def mefc(m, x):
    gate = m.gate
    logits = gate.fc2(F.relu(gate.fc1(F.adaptive_avg_pool2d(x, 1).flatten(1))))
    weights = logits.view(-1, gate.steps, gate.num_experts).softmax(dim=-1)
    out = F.relu(m.preprocess(x))
    for i, step in enumerate(m.steps):
        out = expert_step(step, out, weights[:, i])
    return out


def stage(blocks, x):
    for blk in blocks:
        x = block(blk, x)
    return x


def reference_forward(model, x):
    """A DRSformer's forward in the release's formulation: (N, 3, H, W) -> (N, 3, H, W), NCHW."""
    feat = model.patch_embed(x)
    if model.encoder_level0 is not None:
        feat = mefc(model.encoder_level0, feat)
    enc1 = stage(model.encoder_level1, feat)
    enc2 = stage(model.encoder_level2, model.down1_2(enc1))
    enc3 = stage(model.encoder_level3, model.down2_3(enc2))
    latent = stage(model.latent, model.down3_4(enc3))
    dec3 = stage(model.decoder_level3, model.reduce_chan_level3(torch.cat([model.up4_3(latent), enc3], 1)))
    dec2 = stage(model.decoder_level2, model.reduce_chan_level2(torch.cat([model.up3_2(dec3), enc2], 1)))
    dec1 = stage(model.decoder_level1, torch.cat([model.up2_1(dec2), enc1], 1))
    if model.refinement is not None:
        dec1 = mefc(model.refinement, dec1)
    return model.output(dec1) + x


class ReferenceDRSformer(torch.nn.Module):
    """Wraps a DRSformer so that calling it runs ``reference_forward`` (same parameters, release's maths)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return reference_forward(self.model, x)
