"""SPDNet (Yi, Li, Dai, Fang, Zhang and Zeng, "Structure-Preserving Deraining with Residue
Channel Prior Guidance", ICCV 2021): deraining guided by the residue channel prior (RCP) of
the image, refined over three iterations.

The RCP of an RGB image is, per pixel, its largest channel minus its smallest
(:func:`residue_channel`): rain streaks are nearly achromatic, so the RCP of a rainy image
keeps the background's structure and loses most of the rain. Each of the three iterations
``t`` is a Wavelet-based Multi-Level Module (:class:`WMLM`) that derains image features
``x_t`` guided by features of an RCP (:class:`RCPEncoder`), fused with them by an
Interactive Fusion Module (:class:`IFM`); its output gives the estimate ``B_t`` by a 3x3
conv. Iterative guidance: iteration 1 reads the RCP of the rainy input, iterations 2 and 3
the RCP of the previous estimate, ``y`` being the rainy image::

    f_0 = conv_init2(conv_init1(y))
    x_1 = WMLM_1(f_0,                        RCPEncoder_1(RCP(y)))        B_1 = output1(x_1)
    x_2 = WMLM_2(ag1([x_1, f_0]),            RCPEncoder_2(RCP(B_1)))      B_2 = output2(ag2_en([x_2, x_1]))
    x_3 = WMLM_3(ag2([x_2, x_1, f_0]),       RCPEncoder_3(RCP(B_2)))      B_3 = output3(ag_en([x_3, x_2, x_1]))

``B_3`` is the output; the release trains with the MSE of all three estimates
(:meth:`SPDNet.forward_stages`). Inside a WMLM the fused features are split into three
levels by Haar DWTs (:func:`haar_dwt`, full, 1/2 and 1/4 size), each level runs three
residual groups, and the coarser levels return through inverse DWTs (:func:`haar_idwt`)
and :class:`FuseUp` blocks.

Release: Joyies/SPDNet at c03b8d3b7d60705fdcefda73b3a39afc5198dcd4, ``src/model/spdnet.py``
(class ``Rainnet``; the README trains it with ``--n_feats 32 --n_resblocks 3``, the
constructor's defaults here). Module and parameter names follow the release (``sub1`` is
the first WMLM, ``prior`` its IFM, ``res_extra1`` the first RCP encoder, ``DWT_2``/``IDWT_3``
the convs beside the transforms...), so its ``model_best.pt`` files load after the converter
'spdnet' drops what the forward never uses.

Differences from the release, none of them in the maths of the forward:

- The release feeds images in [0, 255] (``--rgb_range 255``, its default); this arch takes
  [0, 1], multiplies by ``rgb_range`` on entry and divides the estimates by it.
- The release builds modules its forward never calls: an affine ``InstanceNorm2d`` in every
  ``convd`` (commented out of its forward), the ``conv`` of each ``Fuse``, and in every
  ``subnet`` ten down/up-sampling layers (``down2``, ``down3``, ``branch*_d``,
  ``branch*_u``). They hold 337,216 of the release's 3,318,741 parameters; they are not
  built here (2,981,525 parameters), so every parameter gets a gradient.
- The release takes its DWT/IDWT from pytorch_wavelets (``DWTForward(J=1, wave='haar')``,
  ``DWTInverse(wave='haar')``, mode 'zero', whose filters are ``h0_col``...``g1_row``
  entries of its checkpoints; pytorch_wavelets before 1.2 made them parameters, 48 more in
  the release's printed count); here the same Haar transforms are written out on the four
  polyphase components (:func:`haar_dwt`, :func:`haar_idwt`), with no filter tensors. The
  release's filters hold 1/sqrt(2) rounded to float32, these divide by 2: float32 outputs
  differ in the last bits (equal in float64).
- The release's ``Prior_Sp`` (the IFM) is built with its default 32 channels whatever
  ``--n_feats`` says, so the release runs with ``n_feats=32`` only; here the IFM takes
  ``n_feats``.

Any input size: an odd side is zero-padded by one row/column before a DWT (as
pytorch_wavelets does in mode 'zero'), and every :class:`FuseUp` resamples to the size of
its finer level, so ``size_multiple`` is 1 and the release's outputs are kept at every size
(the Rain200H test images are 481x321).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS


def residue_channel(img):
    """The residue channel prior: ``max_c img - min_c img``, ``(N, C, H, W) -> (N, 1, H, W)``."""
    return img.amax(dim=1, keepdim=True) - img.amin(dim=1, keepdim=True)


def haar_dwt(x):
    """One level of the 2-D Haar DWT of ``(N, C, H, W)``: ``(ll, lh, hl, hh)``, each
    ``(N, C, ceil(H/2), ceil(W/2))``.

    With ``a, b, c, d = x[2i, 2j], x[2i, 2j+1], x[2i+1, 2j], x[2i+1, 2j+1]``::

        ll = (a + b + c + d) / 2     lh = (a + b - c - d) / 2   (low along W, high along H)
        hl = (a - b + c - d) / 2     hh = (a - b - c + d) / 2

    pytorch_wavelets' ``DWTForward(J=1, wave='haar', mode='zero')`` (returning ``ll`` and
    ``yh[0] = stack([lh, hl, hh], 2)``), whose zero padding of an odd side is done here too.
    """
    x = F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    return ((a + b + c + d) / 2, (a + b - c - d) / 2,
            (a - b + c - d) / 2, (a - b - c + d) / 2)


def haar_idwt(ll, lh, hl, hh):
    """The inverse of :func:`haar_dwt` (pytorch_wavelets' ``DWTInverse(wave='haar')``): four
    ``(N, C, h, w)`` bands -> ``(N, C, 2h, 2w)``; ``haar_idwt(*haar_dwt(x)) == x`` for even
    sides."""
    n, c, h, w = ll.shape
    out = ll.new_empty(n, c, 2 * h, 2 * w)
    out[..., 0::2, 0::2] = (ll + lh + hl + hh) / 2
    out[..., 0::2, 1::2] = (ll + lh - hl - hh) / 2
    out[..., 1::2, 0::2] = (ll - lh + hl - hh) / 2
    out[..., 1::2, 1::2] = (ll - lh - hl + hh) / 2
    return out


class ConvReLU(nn.Module):
    """Reflection-padded 3x3 conv and ReLU (the release's ``convd``; its unused instance
    norm is not built)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3)

    def forward(self, x):
        return F.relu(self.conv(F.pad(x, (1, 1, 1, 1), mode='reflect')))


class SqueezeExcitation(nn.Module):
    """Channel attention ``x * sigmoid(W2 relu(W1 avgpool(x)))`` (the release's
    ``common.SELayer``; SPDNet uses reduction 1, ``fc.0``/``fc.2`` without biases)."""

    def __init__(self, channels, reduction=1):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction, bias=False), nn.ReLU(),
            nn.Linear(channels // reduction, channels, bias=False), nn.Sigmoid())

    def forward(self, x):
        weights = self.fc(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


class SEResidualBlock(nn.Module):
    """``x + SE(relu(conv(relu(conv(x)))))`` with zero-padded 3x3 convs (the release's ``RB``)."""

    def __init__(self, n_feats):
        super().__init__()
        self.module_body = nn.Sequential(
            nn.Conv2d(n_feats, n_feats, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(n_feats, n_feats, 3, 1, 1), nn.ReLU())
        self.se = SqueezeExcitation(n_feats, 1)

    def forward(self, x):
        return self.se(self.module_body(x)) + x


class ResidualGroup(nn.Module):
    """``relu(x + conv(blocks(x)))``: ``n_blocks`` :class:`SEResidualBlock` and a 3x3 conv
    (the release's ``RIR``, residual in residual)."""

    def __init__(self, n_feats, n_blocks):
        super().__init__()
        self.module_body = nn.Sequential(
            *[SEResidualBlock(n_feats) for _ in range(n_blocks)],
            nn.Conv2d(n_feats, n_feats, 3, 1, 1))

    def forward(self, x):
        return F.relu(self.module_body(x) + x)


class RCPEncoder(nn.Module):
    """Features of a residue channel prior: two :class:`ConvReLU` and a
    :class:`ResidualGroup` (the release's ``res_ch``). Takes the one-channel RCP repeated to
    three channels, as the release does."""

    def __init__(self, n_feats, n_blocks):
        super().__init__()
        self.conv_init1 = ConvReLU(3, n_feats // 2)
        self.conv_init2 = ConvReLU(n_feats // 2, n_feats)
        self.extra = ResidualGroup(n_feats, n_blocks)

    def forward(self, rcp):
        return self.extra(self.conv_init2(self.conv_init1(torch.cat((rcp, rcp, rcp), dim=1))))


class IFM(nn.Module):
    """Interactive Fusion Module (the release's ``Prior_Sp``): image features ``x`` and RCP
    features ``p`` share one spatial attention ``A = sigmoid(conv_q(x) * conv_k(p))``; each
    side is then a per-pixel mix of itself and its attended self::

        g = gamma1([x, A x]) (2 maps)     x' = g_0 x + g_1 (A x)
        h = gamma2([p, A p]) (2 maps)     p' = h_0 p + h_1 (A p)
    """

    def __init__(self, n_feats):
        super().__init__()
        self.query_conv = nn.Conv2d(n_feats, n_feats, 3, 1, 1)
        self.key_conv = nn.Conv2d(n_feats, n_feats, 3, 1, 1)
        self.gamma1 = nn.Conv2d(2 * n_feats, 2, 3, 1, 1)
        self.gamma2 = nn.Conv2d(2 * n_feats, 2, 3, 1, 1)

    def forward(self, x, prior):
        attention = torch.sigmoid(self.query_conv(x) * self.key_conv(prior))
        attended_x, attended_prior = x * attention, prior * attention
        g = self.gamma1(torch.cat((x, attended_x), dim=1))
        h = self.gamma2(torch.cat((prior, attended_prior), dim=1))
        return (x * g[:, 0:1] + attended_x * g[:, 1:2],
                prior * h[:, 0:1] + attended_prior * h[:, 1:2])


class Upsample(nn.Module):
    """Reflection pad 1, 3x3 transposed conv with stride 2, ReLU, then nearest-neighbour
    resampling to the size of ``like`` (the release's ``Upsample``)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv2d = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2)

    def forward(self, x, like):
        up = F.relu(self.conv2d(F.pad(x, (1, 1, 1, 1), mode='reflect')))
        return F.interpolate(up, size=like.shape[-2:], mode='nearest')


class FuseUp(nn.Module):
    """Fuse a coarser level into a finer one: ``relu(RB(up(coarse, fine) + fine))`` (the
    release's ``Fuse``; its unused ``conv`` is not built). The coarse input already has the
    finer level's size (it comes out of an inverse DWT), so :class:`Upsample` doubles it and
    resamples it back, as in the release."""

    def __init__(self, n_feats):
        super().__init__()
        self.up = Upsample(n_feats, n_feats)
        self.rb = SEResidualBlock(n_feats)

    def forward(self, coarse, fine):
        return F.relu(self.rb(self.up(coarse, fine) + fine))


class WMLM(nn.Module):
    """Wavelet-based Multi-Level Module, one iteration of SPDNet (the release's ``subnet``):
    ``(x, rcp_features) -> features``, both ``(N, n_feats, H, W)``.

    The IFM fuses the image and RCP features (``fuse_res``); two Haar DWTs give the 1/2- and
    1/4-size levels (``DWT_2``, ``DWT_3`` map the four stacked bands back to ``n_feats``
    channels); each level runs three residual groups (``branch<level>_<k>``); the 1/4 level
    returns to 1/2 size through ``IDWT_3`` (to ``4 n_feats`` channels) and an inverse DWT and
    is fused there (``fuse23``), and the 1/2 level returns to full size the same way
    (``IDWT_2``, ``fuse12``).

    The bands enter ``DWT_k`` band by band (``[lh, hl, hh, ll]``, each ``n_feats``
    channels: the release's ``_transformer``) but leave ``IDWT_k`` channel by channel
    (channel ``4c + k`` is band ``k`` of feature ``c``, bands ordered ``ll, lh, hl, hh``:
    its ``_Itransformer``).
    """

    def __init__(self, n_feats, n_blocks):
        super().__init__()
        self.DWT_2 = ConvReLU(4 * n_feats, n_feats)
        self.DWT_3 = ConvReLU(4 * n_feats, n_feats)
        self.IDWT_2 = ConvReLU(n_feats, 4 * n_feats)
        self.IDWT_3 = ConvReLU(n_feats, 4 * n_feats)
        self.prior = IFM(n_feats)
        self.fuse_res = ConvReLU(2 * n_feats, n_feats)
        for level in (1, 2, 3):
            for k in (1, 2, 3):
                self.add_module(f'branch{level}_{k}', ResidualGroup(n_feats, n_blocks))
        self.fuse12 = FuseUp(n_feats)
        self.fuse23 = FuseUp(n_feats)

    @staticmethod
    def wavelet_bands(x):
        """``(N, C, H, W) -> (N, 4C, ceil(H/2), ceil(W/2))``: ``[lh, hl, hh, ll]`` stacked."""
        ll, lh, hl, hh = haar_dwt(x)
        return torch.cat((lh, hl, hh, ll), dim=1)

    @staticmethod
    def inverse_wavelet(y):
        """``(N, 4C, h, w) -> (N, C, 2h, 2w)``, channel ``4c + k`` being band ``k``
        (``ll, lh, hl, hh``) of feature ``c``."""
        n, c4, h, w = y.shape
        bands = y.reshape(n, c4 // 4, 4, h, w)
        return haar_idwt(*bands.unbind(dim=2))

    def level(self, index, x):
        for k in (1, 2, 3):
            x = getattr(self, f'branch{index}_{k}')(x)
        return x

    def forward(self, x, rcp_features):
        x, rcp_features = self.prior(x, rcp_features)
        x1 = self.fuse_res(torch.cat((x, rcp_features), dim=1))
        x2 = self.DWT_2(self.wavelet_bands(x1))
        x3 = self.DWT_3(self.wavelet_bands(x2))
        x1, x2, x3 = self.level(1, x1), self.level(2, x2), self.level(3, x3)
        x2 = self.fuse23(self.inverse_wavelet(self.IDWT_3(x3)), x2)
        return self.fuse12(self.inverse_wavelet(self.IDWT_2(x2)), x1)


@MODELS.register_module()
class SPDNet(nn.Module):
    """Structure-preserving deraining network: ``(N, 3, H, W)`` in [0, 1] -> the same,
    any H and W.

    Args:
        n_feats: feature channels (the release's ``--n_feats``, 32; even).
        n_resblocks: :class:`SEResidualBlock` per residual group (``--n_resblocks``, 3).
        rgb_range: the pixel range the release's weights expect (``--rgb_range``, 255):
            inputs are scaled by it and the estimates divided by it.
    """

    size_multiple = 1

    def __init__(self, n_feats=32, n_resblocks=3, rgb_range=255.0):
        super().__init__()
        if not (isinstance(n_feats, int) and n_feats >= 2 and n_feats % 2 == 0):
            raise ValueError(f'n_feats must be an even int >= 2, got {n_feats!r}')
        if not (isinstance(n_resblocks, int) and n_resblocks >= 0):
            raise ValueError(f'n_resblocks must be an int >= 0, got {n_resblocks!r}')
        if not rgb_range > 0:
            raise ValueError(f'rgb_range must be > 0, got {rgb_range!r}')
        self.n_feats, self.n_resblocks, self.rgb_range = n_feats, n_resblocks, float(rgb_range)
        self.conv_init1 = ConvReLU(3, n_feats // 2)
        self.conv_init2 = ConvReLU(n_feats // 2, n_feats)
        for t in (1, 2, 3):
            self.add_module(f'res_extra{t}', RCPEncoder(n_feats, n_resblocks))
            self.add_module(f'sub{t}', WMLM(n_feats, n_resblocks))
        self.ag1 = ConvReLU(2 * n_feats, n_feats)
        self.ag2 = ConvReLU(3 * n_feats, n_feats)
        self.ag2_en = ConvReLU(2 * n_feats, n_feats)
        self.ag_en = ConvReLU(3 * n_feats, n_feats)
        for t in (1, 2, 3):
            self.add_module(f'output{t}', nn.Conv2d(n_feats, 3, 3, 1, 1))

    def forward_stages(self, img):
        """The estimates ``[B_1, B_2, B_3]`` of the three iterations (the release returns
        them last first), in [0, 1] units; the release trains on the sum of their MSEs
        (``MultiStageLoss`` in the configs)."""
        y = img * self.rgb_range
        f0 = self.conv_init2(self.conv_init1(y))
        x1 = self.sub1(f0, self.res_extra1(residue_channel(y)))
        b1 = self.output1(x1)
        x2 = self.sub2(self.ag1(torch.cat((x1, f0), dim=1)),
                       self.res_extra2(residue_channel(b1)))
        b2 = self.output2(self.ag2_en(torch.cat((x2, x1), dim=1)))
        x3 = self.sub3(self.ag2(torch.cat((x2, x1, f0), dim=1)),
                       self.res_extra3(residue_channel(b2)))
        b3 = self.output3(self.ag_en(torch.cat((x3, x2, x1), dim=1)))
        return [b / self.rgb_range for b in (b1, b2, b3)]

    def forward(self, img):
        return self.forward_stages(img)[-1]
