"""MSPFN, the multi-scale progressive fusion network (Jiang et al., "Multi-Scale Progressive
Fusion Network for Single Image Deraining", CVPR 2020).

The rainy image and its 1/2 and 1/4 versions (the pyramid) are processed side by side by
three branches of 64 channels that keep passing information from the coarse scales to the
fine ones, and the network predicts the rain layer ``R``; the derained image is ``X - R``::

    pyramid     X_1 = X, X_2 = avgpool_2(X), X_4 = avgpool_4(X)
    IFE         F_s = prelu(conv(X_s))                                  (3 -> 64, per scale s)
    CFM         C_4 = RRU_4(F_4)
                C_2 = RRU_2(F_2, up(C_4))
                C_1 = RRU_1(F_1, up(C_2), up(up(C_4)))                   (coarse fusion)
    FFM x M     U_4 = U_4 + UB_4(U_4)
                U_2 = U_2 + UB_2(U_2 + up(U_4))
                U_1 = U_1 + UB_1(U_1 + up(up(U_4)) + up(U_2))           (fine fusion; U = C at the start)
    RM          M_s = prelu(conv([U_s, C_s]))                            (128 -> 64, per scale)
                R   = conv(prelu(conv([M_1, up([up(M_4), M_2])])))       (128 -> 32 -> 3)

- a residual recurrent unit ``RRU_s(F, *coarser) = F + prelu(conv(h))`` with
  ``h = ConvLSTM(prelu(conv(F + sum(coarser))))`` (64 -> 32 -> LSTM of 256/128/64 hidden
  channels at scales 1, 1/2, 1/4 -> 64), one LSTM step from a zero state;
- a U-shaped block ``UB_s(x)``: ``d = prelu(conv_stride2(x))`` (half size), then N channel
  attention units (CAUs) ``a``, then ``prelu(deconv_stride2([d, a]))`` back to x's size;
- a CAU (residual channel attention): ``y = conv(prelu(conv(x)))``,
  ``x + y * sigmoid(conv(prelu(conv(mean_hw(y)))))`` (64 -> 16 -> 64 in the attention);
- every ``up`` is ``prelu(deconv_stride2(.))`` with its own weights; every conv is 3x3 and
  bias-free except the CAUs' and the LSTMs' (as in the release).

Release: kuijiang94/MSPFN at 26e6073b163ac4f087d6c57bf55eba7ed20751d7 (TensorFlow 1.x):
``model/MSPFN.py`` (``MODEL``, trained by ``train_MSPFN.py``: M = 17 FFMs with 3, 3 and 1 CAUs
at scales 1, 1/2 and 1/4, variable scope ``model``, blocks ``URAB*``) and
``model/TEST_MSPFN_M17N1.py`` (``Model``, the released weights' network, used by
``test/test_MSPFN.py``: 17 FFMs with one CAU per scale, scope ``generator``, blocks ``BCM*``),
with ``utils/layer.py`` (``conv_layer``, ``deconv_layer``, ``prelu``) and
``utils/BasicConvLSTMCell.py``. Both are this class: ``num_caus=(1, 1, 1)`` (the default, the
released weights: 15,823,424 parameters) and ``num_caus=(3, 3, 1)`` (the training script's
model: 20,995,776), each the same count as the release's trainable variables. Converter
'mspfn' reads either's TensorFlow checkpoint without TensorFlow.

How the release's TensorFlow conventions are kept:

- The release feeds the network BGR images scaled to [-1, 1] (``cv2.imread``, ``/127.5 - 1``)
  and saves ``(X - R + 1) * 127.5``. Here the input, RGB in [0, 1], is mapped to that domain
  and the output mapped back, so that the released weights apply unchanged.
- 'SAME' padding of the stride-2 convolutions is TensorFlow's, which pads one more pixel
  after than before when the total is odd (an even size here); the stride-2 transposed
  convolutions (``tf.nn.conv2d_transpose`` with an output shape) are cut the same way.
- The release's stride-1 "deconvolutions" (``deconv_layer`` with stride 1: the features,
  the RRUs' convs, the RM) are ordinary 3x3 convolutions here; converter 'mspfn' flips their
  kernels and swaps in/out channels, which gives the same map.
- The pyramid is the release's 2x2 and 4x4 average (``downscale2``/``downscale4``); the paper
  speaks of Gaussian kernels.
- Height and width must be multiples of 4 (``size_multiple``), as the release's static shapes
  require; ``ImageRestorer`` pads other sizes.
- The ConvLSTMs run one step from a zero state, as in the release: their hidden-state input
  channels and forget gates have no effect and get zero gradients (they are kept so that the
  released weights load as they are).
- Initialisation follows the release: Xavier-uniform for the bias-free convs and the CAUs'
  kernels (zero biases), N(0, 1e-3) truncated at 2 sigma for the LSTM kernels, PReLU slopes 0.
- The release's test script clips to [0, 255] and saves ``np.uint8`` (truncation); restorelab
  clamps to [0, 1] in ``ImageRestorer`` and rounds.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

FEATS = 64  # channels of every branch
LSTM_IN = 32  # channels entering each ConvLSTM
LSTM_HIDDEN = {1: 256, 2: 128, 4: 64}  # ConvLSTM hidden channels per scale (1, 1/2, 1/4)
CAU_REDUCTION = 4


def same_padding(size, kernel, stride):
    """TensorFlow's 'SAME' padding ``(before, after)`` of one dimension: the output has
    ``ceil(size / stride)`` samples and an odd total puts the extra pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvPReLU(nn.Module):
    """``prelu(conv3x3(x))``: a bias-free 'same' convolution and one PReLU slope per channel
    (the release's ``prelu``: ``max(0, x) + alpha * min(0, x)``)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.prelu = nn.PReLU(out_channels, init=0.0)

    def forward(self, x):
        return self.prelu(self.conv(x))


class DownConvPReLU(ConvPReLU):
    """``prelu(conv3x3, stride 2)`` with TensorFlow's 'SAME' padding: ``(N, C, H, W) ->
    (N, C', ceil(H/2), ceil(W/2))``."""

    def forward(self, x):
        top, bottom = same_padding(x.shape[-2], 3, 2)
        left, right = same_padding(x.shape[-1], 3, 2)
        x = F.pad(x, (left, right, top, bottom))
        return self.prelu(F.conv2d(x, self.conv.weight, stride=2))


class UpConvPReLU(nn.Module):
    """``prelu(deconv3x3, stride 2)`` to a given size: TensorFlow's ``conv2d_transpose`` with
    'SAME' padding, the adjoint of :class:`DownConvPReLU`'s convolution. ``weight`` is
    ``(in, out, 3, 3)`` as in ``nn.ConvTranspose2d``."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, bias=False)
        self.prelu = nn.PReLU(out_channels, init=0.0)

    def forward(self, x, size):
        h, w = size
        if (-(-h // 2), -(-w // 2)) != tuple(x.shape[-2:]):
            raise ValueError(f'cannot upsample {tuple(x.shape[-2:])} to {h}x{w}')
        full = F.conv_transpose2d(x, self.deconv.weight, stride=2)  # (2n + 1) per dimension
        top, left = same_padding(h, 3, 2)[0], same_padding(w, 3, 2)[0]
        return self.prelu(full[..., top:top + h, left:left + w])


class ConvLSTMCell(nn.Module):
    """The release's ``BasicConvLSTMCell``: one 3x3 conv of ``[x, h]`` gives the input gate
    ``i``, candidate ``j``, forget gate ``f`` and output gate ``o``;
    ``c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)``, ``h' = tanh(c') * sigmoid(o)``."""

    def __init__(self, in_channels, hidden_channels, forget_bias=1.0):
        super().__init__()
        self.hidden_channels, self.forget_bias = hidden_channels, forget_bias
        self.conv = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, 3, padding=1)

    def forward(self, x, state=None):
        """``(h', (c', h'))``; ``state`` ``(c, h)`` defaults to zeros."""
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])
            state = (zeros, zeros)
        c, h = state
        i, j, f, o = self.conv(torch.cat((x, h), 1)).chunk(4, dim=1)
        c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(c) * torch.sigmoid(o)
        return h, (c, h)


class RecurrentUnit(nn.Module):
    """RRU (the release's ``rain<s>_res1`` -> ``lstm_group<s>`` -> ``rain<s>_res2``):
    ``feat + prelu(conv(ConvLSTM(prelu(conv(feat + coarser...)))))``."""

    def __init__(self, hidden_channels):
        super().__init__()
        self.conv_in = ConvPReLU(FEATS, LSTM_IN)
        self.lstm = ConvLSTMCell(LSTM_IN, hidden_channels)
        self.conv_out = ConvPReLU(hidden_channels, FEATS)

    def forward(self, feat, *coarser):
        x = feat
        for guide in coarser:
            x = x + guide
        hidden, _ = self.lstm(self.conv_in(x))
        return self.conv_out(hidden) + feat


class ChannelAttentionUnit(nn.Module):
    """CAU (the release's ``RCAB``): ``x + y * sigmoid(expand(prelu(reduce(mean_hw(y)))))``
    with ``y = conv2(prelu(conv1(x)))``; 3x3 convs and 1x1 attention convs, all with bias."""

    def __init__(self, channels=FEATS, reduction=CAU_REDUCTION):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.prelu1 = nn.PReLU(channels, init=0.0)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.reduce_prelu = nn.PReLU(channels // reduction, init=0.0)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        y = self.conv2(self.prelu1(self.conv1(x)))
        weight = y.mean(dim=(2, 3), keepdim=True)
        weight = torch.sigmoid(self.expand(self.reduce_prelu(self.reduce(weight))))
        return x + y * weight


class UBlock(nn.Module):
    """The U-shaped block of one scale of an FFM (the release's ``URAB``/``BCM`` of that
    scale): ``feat + up([d, CAUs(d)])`` with ``d = down(feat + coarser...)``."""

    def __init__(self, num_caus):
        super().__init__()
        self.down = DownConvPReLU(FEATS, FEATS)
        self.caus = nn.Sequential(*[ChannelAttentionUnit() for _ in range(num_caus)])
        self.up = UpConvPReLU(2 * FEATS, FEATS)

    def forward(self, feat, *coarser):
        x = feat
        for guide in coarser:
            x = x + guide
        down = self.down(x)
        return feat + self.up(torch.cat((down, self.caus(down)), 1), feat.shape[-2:])


class CoarseFusion(nn.Module):
    """CFM: an RRU per scale, each fed the coarser scales' results upsampled."""

    def __init__(self):
        super().__init__()
        self.rru4 = RecurrentUnit(LSTM_HIDDEN[4])
        self.rru2 = RecurrentUnit(LSTM_HIDDEN[2])
        self.rru1 = RecurrentUnit(LSTM_HIDDEN[1])
        self.up4_2 = UpConvPReLU(FEATS, FEATS)  # release: upRMM4_2
        self.up4_1 = UpConvPReLU(FEATS, FEATS)  # upRMM4_1, applied to up4_2's output
        self.up2_1 = UpConvPReLU(FEATS, FEATS)  # upRMM2_1

    def forward(self, f1, f2, f4):
        c4 = self.rru4(f4)
        c4_2 = self.up4_2(c4, f2.shape[-2:])
        c2 = self.rru2(f2, c4_2)
        c4_1 = self.up4_1(c4_2, f1.shape[-2:])
        c2_1 = self.up2_1(c2, f1.shape[-2:])
        c1 = self.rru1(f1, c2_1, c4_1)
        return c1, c2, c4


class FineFusion(nn.Module):
    """One FFM: a U-block per scale, each fed the coarser scales' updated features upsampled.

    Args:
        num_caus: CAUs in the U-blocks of scales 1, 1/2 and 1/4.
    """

    def __init__(self, num_caus):
        super().__init__()
        self.block4 = UBlock(num_caus[2])
        self.up4_2 = UpConvPReLU(FEATS, FEATS)  # release: up<URAB|BCM>4_2_<n>
        self.block2 = UBlock(num_caus[1])
        self.up4_1 = UpConvPReLU(FEATS, FEATS)  # up<URAB|BCM>4to1_<n>, applied to up4_2's output
        self.up2_1 = UpConvPReLU(FEATS, FEATS)  # up<URAB|BCM>2to1_<n>
        self.block1 = UBlock(num_caus[0])

    def forward(self, u1, u2, u4):
        u4 = self.block4(u4)
        u4_2 = self.up4_2(u4, u2.shape[-2:])
        u2 = self.block2(u2, u4_2)
        u4_1 = self.up4_1(u4_2, u1.shape[-2:])
        u2_1 = self.up2_1(u2, u1.shape[-2:])
        u1 = self.block1(u1, u4_1, u2_1)
        return u1, u2, u4


class Reconstruction(nn.Module):
    """RM: merges the FFMs' and the CFM's features per scale, brings the coarse scales up and
    predicts the rain layer (64 -> 3 channels, no activation at the end)."""

    def __init__(self):
        super().__init__()
        self.merge4 = ConvPReLU(2 * FEATS, FEATS)  # release: rnn_recon4
        self.merge2 = ConvPReLU(2 * FEATS, FEATS)  # rnn_recon2
        self.merge1 = ConvPReLU(2 * FEATS, FEATS)  # rnn_recon
        self.up4_2 = UpConvPReLU(FEATS, FEATS)  # up4_2
        self.up2_1 = UpConvPReLU(2 * FEATS, FEATS)  # up2_1
        self.fuse = ConvPReLU(2 * FEATS, FEATS // 2)  # rnn5
        self.tail = nn.Conv2d(FEATS // 2, 3, 3, padding=1, bias=False)  # rnn7

    def forward(self, fine, coarse):
        (u1, u2, u4), (c1, c2, c4) = fine, coarse
        m4 = self.merge4(torch.cat((u4, c4), 1))
        m2 = self.merge2(torch.cat((u2, c2), 1))
        m1 = self.merge1(torch.cat((u1, c1), 1))
        m4_2 = self.up4_2(m4, m2.shape[-2:])
        m2_1 = self.up2_1(torch.cat((m4_2, m2), 1), m1.shape[-2:])
        return self.tail(self.fuse(torch.cat((m1, m2_1), 1)))


@MODELS.register_module()
class MSPFN(nn.Module):
    """Multi-scale progressive fusion network: ``(N, 3, H, W) -> (N, 3, H, W)``, H and W
    multiples of 4.

    Args:
        num_ffms: M, the number of fine fusion modules (17 in the release).
        num_caus: CAUs per U-block at scales 1, 1/2 and 1/4: ``(1, 1, 1)`` for the released
            weights (``TEST_MSPFN_M17N1.py``), ``(3, 3, 1)`` for ``train_MSPFN.py``'s model.
    """

    size_multiple = 4

    def __init__(self, num_ffms=17, num_caus=(1, 1, 1)):
        super().__init__()
        num_caus = tuple(num_caus)
        if len(num_caus) != 3 or min(num_caus) < 0 or num_ffms < 0:
            raise ValueError(f'num_ffms must be >= 0 and num_caus three counts >= 0, got '
                             f'num_ffms={num_ffms}, num_caus={num_caus}')
        self.num_ffms, self.num_caus = num_ffms, num_caus
        self.ife1 = ConvPReLU(3, FEATS)  # release: rnn1
        self.ife2 = ConvPReLU(3, FEATS)  # rnn2
        self.ife4 = ConvPReLU(3, FEATS)  # rnn4
        self.cfm = CoarseFusion()
        self.ffm = nn.ModuleList(FineFusion(num_caus) for _ in range(num_ffms))
        self.rm = Reconstruction()
        self.reset_parameters()

    def reset_parameters(self):
        """The release's initialisation (see the module doc)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, ConvLSTMCell):  # slim.conv2d's initialisers in the release
                nn.init.trunc_normal_(module.conv.weight, std=1e-3, a=-2e-3, b=2e-3)

    def rain_layer(self, rainy):
        """The rain layer ``R`` of an image in the release's domain (BGR, [-1, 1])."""
        h, w = rainy.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f'MSPFN needs height and width that are multiples of 4 '
                             f'(size_multiple), got {h}x{w}')
        pyramid = (rainy, F.avg_pool2d(rainy, 2), F.avg_pool2d(rainy, 4))
        f1, f2, f4 = (ife(x) for ife, x in zip((self.ife1, self.ife2, self.ife4), pyramid))
        coarse = self.cfm(f1, f2, f4)
        fine = coarse
        for ffm in self.ffm:
            fine = ffm(*fine)
        return self.rm(fine, coarse)

    def forward(self, x):
        rainy = x.flip(1) * 2 - 1  # RGB in [0, 1] -> the release's BGR in [-1, 1]
        derained = rainy - self.rain_layer(rainy)
        return (derained.flip(1) + 1) / 2
