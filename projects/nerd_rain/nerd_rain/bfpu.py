"""NeRD-Rain's bidirectional feedback propagation unit (BFPU; the inset of the
paper's overview figure).

It fuses the bottleneck features of two consecutive encoder-decoders of one scale; its output,
halved in size, is added to the bottleneck of the next coarser scale (the fine-to-coarse half of
the inter-scale bidirectional feedback). The release's class is ``Fusion`` (model.py); parameter
names are kept.
"""
import torch
import torch.nn as nn


class BFPU(nn.Module):
    """``(x, y)`` two ``(N, C, H, W)`` maps -> ``(N, C, H, W)``.

    A shared sigmoid gate ``a = sigmoid(q(x) * k(y))`` (3x3 convs ``query_conv``, ``key_conv``)
    selects features of both inputs; each input is then mixed with its gated copy by two
    per-pixel weights predicted from their concatenation (3x3 convs ``gamma1``, ``gamma2``):
    ``x' = x g1[0] + (x a) g1[1]``, ``y' = y g2[0] + (y a) g2[1]``; the output is ``x' + y'``.
    """

    def __init__(self, dim):
        super().__init__()
        self.query_conv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True)
        self.key_conv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True)
        self.gamma1 = nn.Conv2d(dim * 2, 2, 3, 1, 1, bias=True)
        self.gamma2 = nn.Conv2d(dim * 2, 2, 3, 1, 1, bias=True)

    def forward(self, x, y):
        attention = torch.sigmoid(self.query_conv(x) * self.key_conv(y))
        x_att, y_att = x * attention, y * attention
        gx = self.gamma1(torch.cat((x, x_att), dim=1))
        gy = self.gamma2(torch.cat((y, y_att), dim=1))
        x_out = x * gx[:, 0:1] + x_att * gx[:, 1:2]
        y_out = y * gy[:, 0:1] + y_att * gy[:, 1:2]
        return x_out + y_out
