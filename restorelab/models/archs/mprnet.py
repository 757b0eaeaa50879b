"""MPRNet (Zamir et al., "Multi-Stage Progressive Image Restoration", CVPR 2021): three stages
that restore the image progressively, each passing on what it learnt.

Release: swz30/MPRNet at 43feb2aed45f5e0b9082c78c8c455160e30a3a82, ``Deraining/MPRNet.py``
(``Deblurring/`` and ``Denoising/`` hold the same file with wider defaults).

The multi-patch hierarchy: stage 1 works on the four quarters of the image, stage 2 on its top
and bottom halves, stage 3 on the whole image::

    stage 1: each quarter -> shallow features (conv + CAB) -> U-Net encoder; the encoder
             features of the left and right quarters are joined side by side and decoded per
             half; a SAM turns each half's decoder output into a stage-1 image (half + residual)
             and attention-weighted features.
    stage 2: each half -> shallow features, fused with the SAM features (concat + conv) -> U-Net
             encoder, which also adds 1x1 convs of stage 1's encoder and decoder features at every
             level (CSFF, cross-stage feature fusion); top and bottom features are joined and
             decoded; a SAM gives the stage-2 image and features for stage 3.
    stage 3: the whole image -> shallow features, fused with the SAM features -> ORSNet
             (original-resolution subnetwork: three ORBs of ``num_cab`` CABs, no downsampling),
             which after each ORB adds 1x1 convs of stage 2's encoder and decoder features,
             upsampled to full resolution (CSFF) -> a conv to 3 channels + the input.

Building blocks: CAB (channel attention block: conv, PReLU, conv, channel attention, + input);
the U-Nets have three levels of two CABs each, widths ``n_feat + k * scale_unetfeats``, bilinear
down/upsampling by 2 with 1x1 convs, and a CAB on each skip connection; SAM (supervised attention
module): ``img = conv2(x) + input image``, ``features = conv1(x) * sigmoid(conv3(img)) + x``.

``forward`` returns the stage-3 image, restorelab's one ``(N, 3, H, W)`` output.
``forward_stages`` returns the stage-1, -2 and -3 images (the release's output, in stage order), each of
which the release trains against the ground truth (its config sums the loss over them with
``MultiStageLoss``).

Parameter names are the release's (``shallow_feat1``, ``stage1_encoder.encoder_level1``,
``csff_enc1``, ``sam12``, ``stage3_orsnet.orb1``, ``concat23``, ``tail``...), so its checkpoints
load after unwrapping (converter 'mprnet'). The release's variants are constructor arguments:
``n_feat``, ``scale_unetfeats``, ``scale_orsnetfeats`` = 40, 20, 16 (deraining, 3,637,249
parameters; the default), 96, 48, 32 (deblurring) and 80, 48, 32 (denoising), with
``num_cab=8, kernel_size=3, reduction=4, bias=False`` in all three (:data:`RELEASE_VARIANTS`).

Like the release:

* one PReLU (one learnt slope) is shared by every CAB of the network, so its slope appears under
  all 55 ``...body.1.weight`` keys of a checkpoint but counts once among the parameters;
* the last conv of each ORB has no bias whatever ``bias`` says, and the 1x1 convs of the
  down/upsamplings never have one;
* SAM convs are 1x1.

Differences from the release: none in the maths. H and W must be multiples of 8
(``size_multiple``): the halves and quarters must be even twice over for the U-Nets' two
downsamplings to invert. The release's Deraining/test.py feeds its test images (480x320) unpadded;
its demo.py pads other images by reflection at the bottom and right to a multiple of 8, as
``ImageRestorer`` does.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

# The widths of the three released models (Deraining/, Deblurring/, Denoising/MPRNet.py); the
# other options are the same in all three: num_cab=8, kernel_size=3, reduction=4, bias=False.
RELEASE_VARIANTS = {
    'deraining': dict(n_feat=40, scale_unetfeats=20, scale_orsnetfeats=16),
    'deblurring': dict(n_feat=96, scale_unetfeats=48, scale_orsnetfeats=32),
    'denoising': dict(n_feat=80, scale_unetfeats=48, scale_orsnetfeats=32),
}


def conv(in_channels, out_channels, kernel_size, bias=False):
    """A 'same' convolution (stride 1, padding ``kernel_size // 2``)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention: ``x * sigmoid(W2 relu(W1 mean_hw(x)))``
    with 1x1 convs ``C -> C / reduction -> C`` (the release's ``CALayer``)."""

    def __init__(self, channels, reduction, bias):
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1, bias=bias), nn.ReLU(),
            nn.Conv2d(channels // reduction, channels, 1, bias=bias), nn.Sigmoid())

    def forward(self, x):
        return x * self.conv_du(F.adaptive_avg_pool2d(x, 1))


class CAB(nn.Module):
    """Channel attention block: ``x + CA(conv(act(conv(x))))``; ``act`` is the network's one
    shared PReLU."""

    def __init__(self, n_feat, kernel_size, reduction, bias, act):
        super().__init__()
        self.CA = ChannelAttention(n_feat, reduction, bias)  # first: the release's key order
        self.body = nn.Sequential(conv(n_feat, n_feat, kernel_size, bias), act,
                                  conv(n_feat, n_feat, kernel_size, bias))

    def forward(self, x):
        return x + self.CA(self.body(x))


def cab_stack(n_feat, count, kernel_size, reduction, bias, act):
    return nn.Sequential(*[CAB(n_feat, kernel_size, reduction, bias, act) for _ in range(count)])


class SAM(nn.Module):
    """Supervised attention module between stages.

    ``forward(x, x_img)`` with features ``x`` ``(N, n_feat, h, w)`` and the stage's input image
    ``x_img`` ``(N, 3, h, w)`` returns ``(features, img)``: the stage's restored image
    ``img = conv2(x) + x_img`` (the one the loss supervises) and the features passed on,
    ``conv1(x) * sigmoid(conv3(img)) + x``.
    """

    def __init__(self, n_feat, kernel_size, bias):
        super().__init__()
        self.conv1 = conv(n_feat, n_feat, kernel_size, bias)
        self.conv2 = conv(n_feat, 3, kernel_size, bias)
        self.conv3 = conv(3, n_feat, kernel_size, bias)

    def forward(self, x, x_img):
        img = self.conv2(x) + x_img
        attention = torch.sigmoid(self.conv3(img))
        return self.conv1(x) * attention + x, img


class DownSample(nn.Module):
    """Bilinear downsampling by 2 (``align_corners=False``), then a 1x1 conv adding
    ``s_factor`` channels: ``(N, C, H, W) -> (N, C + s_factor, H/2, W/2)``."""

    def __init__(self, in_channels, s_factor):
        super().__init__()
        self.down = nn.Sequential(
            nn.Upsample(scale_factor=0.5, mode='bilinear', align_corners=False),
            nn.Conv2d(in_channels, in_channels + s_factor, 1, bias=False))

    def forward(self, x):
        return self.down(x)


class UpSample(nn.Module):
    """Bilinear upsampling by 2, then a 1x1 conv removing ``s_factor`` channels:
    ``(N, C + s_factor, H, W) -> (N, C, 2H, 2W)``; ``forward(x, skip)`` adds ``skip``
    (the decoder's skip connections, the release's ``SkipUpSample``)."""

    def __init__(self, in_channels, s_factor):
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
            nn.Conv2d(in_channels + s_factor, in_channels, 1, bias=False))

    def forward(self, x, skip=None):
        x = self.up(x)
        return x if skip is None else x + skip


class Encoder(nn.Module):
    """Three levels of two CABs (widths ``n_feat``, ``+ s``, ``+ 2s`` with ``s =
    scale_unetfeats``), downsampling between levels; returns the three levels' outputs.

    With ``csff`` (stage 2), ``forward(x, encoder_outs, decoder_outs)`` adds 1x1 convs of the
    previous stage's encoder and decoder features to each level's output (cross-stage feature
    fusion)."""

    def __init__(self, n_feat, kernel_size, reduction, act, bias, scale_unetfeats, csff):
        super().__init__()
        widths = [n_feat + i * scale_unetfeats for i in range(3)]
        for level, width in enumerate(widths, 1):
            self.add_module(f'encoder_level{level}', cab_stack(width, 2, kernel_size, reduction, bias, act))
        self.down12 = DownSample(widths[0], scale_unetfeats)
        self.down23 = DownSample(widths[1], scale_unetfeats)
        self.csff = csff
        if csff:
            for level, width in enumerate(widths, 1):
                self.add_module(f'csff_enc{level}', nn.Conv2d(width, width, 1, bias=bias))
            for level, width in enumerate(widths, 1):
                self.add_module(f'csff_dec{level}', nn.Conv2d(width, width, 1, bias=bias))

    def forward(self, x, encoder_outs=None, decoder_outs=None):
        fuse = encoder_outs is not None and decoder_outs is not None
        if fuse and not self.csff:
            raise ValueError('this encoder was built with csff=False: it takes no previous-stage features')
        enc1 = self.encoder_level1(x)
        if fuse:
            enc1 = enc1 + self.csff_enc1(encoder_outs[0]) + self.csff_dec1(decoder_outs[0])
        enc2 = self.encoder_level2(self.down12(enc1))
        if fuse:
            enc2 = enc2 + self.csff_enc2(encoder_outs[1]) + self.csff_dec2(decoder_outs[1])
        enc3 = self.encoder_level3(self.down23(enc2))
        if fuse:
            enc3 = enc3 + self.csff_enc3(encoder_outs[2]) + self.csff_dec3(decoder_outs[2])
        return [enc1, enc2, enc3]


class Decoder(nn.Module):
    """The U-Net's decoder: from the encoder's three outputs ``[enc1, enc2, enc3]``,
    ``dec3 = CABs(enc3)``, ``dec2 = CABs(up(dec3) + CAB(enc2))``, ``dec1 = CABs(up(dec2) +
    CAB(enc1))``; returns ``[dec1, dec2, dec3]``."""

    def __init__(self, n_feat, kernel_size, reduction, act, bias, scale_unetfeats):
        super().__init__()
        widths = [n_feat + i * scale_unetfeats for i in range(3)]
        for level, width in enumerate(widths, 1):
            self.add_module(f'decoder_level{level}', cab_stack(width, 2, kernel_size, reduction, bias, act))
        self.skip_attn1 = CAB(widths[0], kernel_size, reduction, bias, act)
        self.skip_attn2 = CAB(widths[1], kernel_size, reduction, bias, act)
        self.up21 = UpSample(widths[0], scale_unetfeats)
        self.up32 = UpSample(widths[1], scale_unetfeats)

    def forward(self, outs):
        enc1, enc2, enc3 = outs
        dec3 = self.decoder_level3(enc3)
        dec2 = self.decoder_level2(self.up32(dec3, self.skip_attn2(enc2)))
        dec1 = self.decoder_level1(self.up21(dec2, self.skip_attn1(enc1)))
        return [dec1, dec2, dec3]


class ORB(nn.Module):
    """Original-resolution block: ``x + conv(CAB_num_cab(...CAB_1(x)))``; the conv has no bias
    (as in the release, whatever ``bias`` says)."""

    def __init__(self, n_feat, kernel_size, reduction, act, bias, num_cab):
        super().__init__()
        self.body = nn.Sequential(
            *[CAB(n_feat, kernel_size, reduction, bias, act) for _ in range(num_cab)],
            conv(n_feat, n_feat, kernel_size, bias=False))

    def forward(self, x):
        return x + self.body(x)


class ORSNet(nn.Module):
    """Original-resolution subnetwork (stage 3): three ORBs of width ``n_feat +
    scale_orsnetfeats``; after ORB k, 1x1 convs of stage 2's level-k encoder and decoder
    features, upsampled to full resolution, are added (CSFF)."""

    def __init__(self, n_feat, scale_orsnetfeats, kernel_size, reduction, act, bias,
                 scale_unetfeats, num_cab):
        super().__init__()
        width = n_feat + scale_orsnetfeats
        for k in (1, 2, 3):
            self.add_module(f'orb{k}', ORB(width, kernel_size, reduction, act, bias, num_cab))
        self.up_enc1 = UpSample(n_feat, scale_unetfeats)
        self.up_dec1 = UpSample(n_feat, scale_unetfeats)
        self.up_enc2 = nn.Sequential(UpSample(n_feat + scale_unetfeats, scale_unetfeats),
                                     UpSample(n_feat, scale_unetfeats))
        self.up_dec2 = nn.Sequential(UpSample(n_feat + scale_unetfeats, scale_unetfeats),
                                     UpSample(n_feat, scale_unetfeats))
        for k in (1, 2, 3):
            self.add_module(f'conv_enc{k}', nn.Conv2d(n_feat, width, 1, bias=bias))
        for k in (1, 2, 3):
            self.add_module(f'conv_dec{k}', nn.Conv2d(n_feat, width, 1, bias=bias))

    def forward(self, x, encoder_outs, decoder_outs):
        """``x`` at full resolution; stage 2's encoder and decoder outputs, levels 1-3."""
        x = self.orb1(x)
        x = x + self.conv_enc1(encoder_outs[0]) + self.conv_dec1(decoder_outs[0])
        x = self.orb2(x)
        x = x + self.conv_enc2(self.up_enc1(encoder_outs[1])) + self.conv_dec2(self.up_dec1(decoder_outs[1]))
        x = self.orb3(x)
        x = x + self.conv_enc3(self.up_enc2(encoder_outs[2])) + self.conv_dec3(self.up_dec2(decoder_outs[2]))
        return x


@MODELS.register_module()
class MPRNet(nn.Module):
    """MPRNet: ``(N, 3, H, W) -> (N, 3, H, W)``, H and W multiples of 8.

    Args:
        n_feat: channels of the shallow features and of the U-Nets' first level.
        scale_unetfeats: channels added at each U-Net level (and removed by each upsampling).
        scale_orsnetfeats: channels ORSNet adds to ``n_feat``.
        num_cab: CABs per ORB.
        kernel_size: of the CABs' convs, the shallow-feature convs, ``concat12/23`` and ``tail``.
        reduction: channel-attention reduction of every CAB.
        bias: biases in the CABs, SAMs, CSFF convs, shallow features, ``concat12/23``, ``tail``.

    The defaults are the release's deraining model; :data:`RELEASE_VARIANTS` lists the others.
    """

    size_multiple = 8

    def __init__(self, n_feat=40, scale_unetfeats=20, scale_orsnetfeats=16, num_cab=8, kernel_size=3,
                 reduction=4, bias=False):
        super().__init__()
        act = nn.PReLU()  # one slope shared by every CAB, as in the release
        for stage in (1, 2, 3):
            self.add_module(f'shallow_feat{stage}', nn.Sequential(
                conv(3, n_feat, kernel_size, bias), CAB(n_feat, kernel_size, reduction, bias, act)))
        self.stage1_encoder = Encoder(n_feat, kernel_size, reduction, act, bias, scale_unetfeats, csff=False)
        self.stage1_decoder = Decoder(n_feat, kernel_size, reduction, act, bias, scale_unetfeats)
        self.stage2_encoder = Encoder(n_feat, kernel_size, reduction, act, bias, scale_unetfeats, csff=True)
        self.stage2_decoder = Decoder(n_feat, kernel_size, reduction, act, bias, scale_unetfeats)
        self.stage3_orsnet = ORSNet(n_feat, scale_orsnetfeats, kernel_size, reduction, act, bias,
                                    scale_unetfeats, num_cab)
        self.sam12 = SAM(n_feat, kernel_size=1, bias=bias)
        self.sam23 = SAM(n_feat, kernel_size=1, bias=bias)
        self.concat12 = conv(2 * n_feat, n_feat, kernel_size, bias)
        self.concat23 = conv(2 * n_feat, n_feat + scale_orsnetfeats, kernel_size, bias)
        self.tail = conv(n_feat + scale_orsnetfeats, 3, kernel_size, bias)

    def forward(self, x):
        """The stage-3 image ``(N, 3, H, W)``."""
        return self.forward_stages(x)[-1]

    def forward_stages(self, x):
        """``[stage-1, stage-2, stage-3]`` images, each ``(N, 3, H, W)``: the release's output
        (which lists them last stage first) in stage order, as MultiStageLoss reads stages."""
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f'MPRNet: input H={h}, W={w} must be multiples of {self.size_multiple}; '
                             'pad it (ImageRestorer does this from arch.size_multiple)')
        # The multi-patch hierarchy: halves for stage 2, quarters for stage 1.
        halves = (x[:, :, :h // 2], x[:, :, h // 2:])

        # Stage 1: encode the four quarters; decode each half from its two quarters' features.
        stage1_feats, stage1_decoded, sam_feats, stage1_imgs = [], [], [], []
        for half in halves:
            left, right = (self.stage1_encoder(self.shallow_feat1(quarter))
                           for quarter in (half[..., :w // 2], half[..., w // 2:]))
            feats = [torch.cat(pair, dim=3) for pair in zip(left, right)]
            decoded = self.stage1_decoder(feats)
            sam_feat, img = self.sam12(decoded[0], half)
            stage1_feats.append(feats)
            stage1_decoded.append(decoded)
            sam_feats.append(sam_feat)
            stage1_imgs.append(img)
        stage1_img = torch.cat(stage1_imgs, dim=2)

        # Stage 2: encode each half, fused with stage 1 through its SAM features and CSFF;
        # decode the whole image from the two halves' features.
        stage2_halves = []
        for half, sam_feat, feats, decoded in zip(halves, sam_feats, stage1_feats, stage1_decoded):
            fused = self.concat12(torch.cat((self.shallow_feat2(half), sam_feat), dim=1))
            stage2_halves.append(self.stage2_encoder(fused, feats, decoded))
        stage2_feats = [torch.cat(pair, dim=2) for pair in zip(*stage2_halves)]
        stage2_decoded = self.stage2_decoder(stage2_feats)
        sam_feat, stage2_img = self.sam23(stage2_decoded[0], x)

        # Stage 3: ORSNet at full resolution, fused with stage 2 through its SAM features and CSFF.
        feat = self.concat23(torch.cat((self.shallow_feat3(x), sam_feat), dim=1))
        feat = self.stage3_orsnet(feat, stage2_feats, stage2_decoded)
        stage3_img = self.tail(feat) + x
        return [stage1_img, stage2_img, stage3_img]
