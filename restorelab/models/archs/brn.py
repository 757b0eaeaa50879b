"""BRN (Ren et al., "Single image deraining using bilateral recurrent network", IEEE TIP
2020): two recurrent networks, one for the rain-streak layer and one for the background
image, coupled by bilateral LSTMs.

Each of the ``recurrent_iter`` stages t (8 in the release) runs the two single recurrent
networks (SRNs, PReNet-like stages) one after the other, ``y`` being the rainy input::

    rain SRN:   f_r          = conv0_r([y, r_{t-1}])
                h_r, c_r     = LSTM_r([f_r, h_r, h_x])      # h_x of stage t-1
                r_t          = conv_r(3 residual blocks(h_r))
    image SRN:  f_x          = conv0([y, x_{t-1}, r_t])
                h_x, c_x     = LSTM_x([f_x, h_x, h_r])      # h_r of stage t
                x_t          = conv(5 residual blocks(h_x))

with ``r_0 = x_0 = y`` and zero initial LSTM states. Each LSTM sees its own hidden state
and the other branch's (the bilateral coupling). Unlike PReNet, ``x_t`` is predicted
directly, not as ``y + residual``. The output is ``x_T``.

Parameter names follow the release (csdwren/RecDerain ``generator.py``, class ``BRN``),
so its ``logs/Rain100{H,L}/BRN/net_latest.pth`` load after one change (converter 'brn'):
the release also builds ``res_conv4_r`` and ``res_conv5_r``, which its forward never
calls; they are in the released files (412,518 values) but not here (375,526
parameters), so that every parameter gets a gradient (distributed training needs no
``find_unused_parameters``).

Differences from the release at test time: none in the maths. The release's forward
returns ``(x_T, [x_1..x_T], r_T, [r_1..r_T])`` and its test_BRN.py keeps ``x_T``,
clamps it to [0, 1] (done here by ``ImageRestorer``) and saves ``np.uint8(255 * x)``, a
truncation (restorelab rounds).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from restorelab.registry import MODELS

FEATS = 32  # feature channels of every conv, LSTM state and residual block


def conv3x3(in_channels, out_channels, activation=None):
    """``Sequential(Conv2d 3x3 [, activation])``: the release's ``<name>.0.weight`` layout."""
    layers = [nn.Conv2d(in_channels, out_channels, 3, 1, 1)]
    if activation is not None:
        layers.append(activation)
    return nn.Sequential(*layers)


def res_block():
    """Two 3x3 conv + ReLU pairs; used as ``relu(block(x) + x)``."""
    return nn.Sequential(nn.Conv2d(FEATS, FEATS, 3, 1, 1), nn.ReLU(),
                         nn.Conv2d(FEATS, FEATS, 3, 1, 1), nn.ReLU())


def lstm_step(gates, inputs, cell):
    """One conv-LSTM update. ``gates`` = (input, forget, candidate, output) convs, each
    ``(N, C_in, H, W) -> (N, 32, H, W)`` with its activation; returns ``(hidden, cell)``."""
    conv_i, conv_f, conv_g, conv_o = gates
    cell = conv_f(inputs) * cell + conv_i(inputs) * conv_g(inputs)
    hidden = conv_o(inputs) * torch.tanh(cell)
    return hidden, cell


def residual_chain(blocks, feat):
    """``feat <- relu(block(feat) + feat)`` for each block; returns every block's output."""
    outputs = []
    for block in blocks:
        feat = F.relu(block(feat) + feat)
        outputs.append(feat)
    return outputs


@MODELS.register_module()
class BRN(nn.Module):
    """Bilateral recurrent network: ``(N, 3, H, W) -> (N, 3, H, W)``, any H and W.

    Args:
        recurrent_iter: number of stages T (the release's ``inter_iter``, 8 in its
            train.py and test_BRN.py).
    """

    size_multiple = 1
    num_image_blocks = 5
    num_rain_blocks = 3

    def __init__(self, recurrent_iter=8):
        super().__init__()
        if recurrent_iter < 1:
            raise ValueError(f'recurrent_iter must be >= 1, got {recurrent_iter}')
        self.recurrent_iter = recurrent_iter
        lstm_in = 3 * FEATS  # [stem features, own hidden state, other branch's hidden state]
        # Image SRN: stem on [y, x_{t-1}, r_t], bilateral LSTM, 5 residual blocks, head.
        self.conv0 = conv3x3(9, FEATS, nn.ReLU())
        for i in range(1, self.num_image_blocks + 1):
            self.add_module(f'res_conv{i}', res_block())
        self.conv_i = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv_f = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv_g = conv3x3(lstm_in, FEATS, nn.Tanh())
        self.conv_o = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv = conv3x3(FEATS, 3)
        # Rain SRN: stem on [y, r_{t-1}], bilateral LSTM, 3 residual blocks, head.
        self.conv0_r = conv3x3(6, FEATS, nn.ReLU())
        for i in range(1, self.num_rain_blocks + 1):
            self.add_module(f'res_conv{i}_r', res_block())
        self.conv_i_r = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv_f_r = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv_g_r = conv3x3(lstm_in, FEATS, nn.Tanh())
        self.conv_o_r = conv3x3(lstm_in, FEATS, nn.Sigmoid())
        self.conv_r = conv3x3(FEATS, 3)

    def image_blocks(self):
        return [getattr(self, f'res_conv{i}') for i in range(1, self.num_image_blocks + 1)]

    def rain_blocks(self):
        return [getattr(self, f'res_conv{i}_r') for i in range(1, self.num_rain_blocks + 1)]

    def image_features(self, hidden, rain_features):
        """The image SRN's residual blocks on its hidden state ``(N, 32, H, W)``.
        ``rain_features`` (the rain SRN's block outputs of this stage) are unused here;
        AIDNet attends with them."""
        return residual_chain(self.image_blocks(), hidden)[-1]

    def forward(self, inp):
        n, _, h, w = inp.shape
        x = r = inp
        h_x, c_x, h_r, c_r = (inp.new_zeros(n, FEATS, h, w) for _ in range(4))
        rain_gates = (self.conv_i_r, self.conv_f_r, self.conv_g_r, self.conv_o_r)
        image_gates = (self.conv_i, self.conv_f, self.conv_g, self.conv_o)
        for _ in range(self.recurrent_iter):
            feat = self.conv0_r(torch.cat((inp, r), 1))
            h_r, c_r = lstm_step(rain_gates, torch.cat((feat, h_r, h_x), 1), c_r)
            rain_features = residual_chain(self.rain_blocks(), h_r)
            r = self.conv_r(rain_features[-1])

            feat = self.conv0(torch.cat((inp, x, r), 1))
            h_x, c_x = lstm_step(image_gates, torch.cat((feat, h_x, h_r), 1), c_x)
            x = self.conv(self.image_features(h_x, rain_features))
        return x
