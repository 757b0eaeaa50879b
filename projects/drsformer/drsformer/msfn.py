"""Mixed-scale feed-forward network (MSFN) of DRSformer, as in the official release."""
import torch
import torch.nn as nn


class MSFN(nn.Module):
    """Mixed-scale feed-forward network: (N, dim, H, W) -> (N, dim, H, W).

    A 1x1 conv expands to 2*hidden channels (hidden = int(dim * expansion)); parallel
    3x3 and 5x5 depth-wise convs with ReLU each give two halves (a3, b3) and (a5, b5);
    [a3, a5] goes through a grouped 3x3 conv and [b3, b5] through a grouped 5x5 conv
    (hidden groups, 2*hidden -> hidden channels each, ReLU); their concatenation is
    projected back to dim by a 1x1 conv. Parameter names follow the release.
    """

    def __init__(self, dim, expansion=2.66, bias=False):
        super().__init__()
        hidden = int(dim * expansion)
        self.hidden_features = hidden
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=bias)
        self.dwconv5x5 = nn.Conv2d(hidden * 2, hidden * 2, 5, padding=2, groups=hidden * 2, bias=bias)
        self.dwconv3x3_1 = nn.Conv2d(hidden * 2, hidden, 3, padding=1, groups=hidden, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(hidden * 2, hidden, 5, padding=2, groups=hidden, bias=bias)
        self.project_out = nn.Conv2d(hidden * 2, dim, kernel_size=1, bias=bias)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.project_in(x)
        a3, b3 = self.act(self.dwconv3x3(x)).chunk(2, dim=1)
        a5, b5 = self.act(self.dwconv5x5(x)).chunk(2, dim=1)
        x3 = self.act(self.dwconv3x3_1(torch.cat([a3, a5], dim=1)))
        x5 = self.act(self.dwconv5x5_1(torch.cat([b3, b5], dim=1)))
        return self.project_out(torch.cat([x3, x5], dim=1))
