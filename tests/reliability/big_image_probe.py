"""Probe run by test_large_image (in a fresh process, for its peak memory):
reads an image file, restores it tiled with a light model whose activations
at full resolution would need ``32 * H * W * 4`` bytes, prints a JSON report."""
import json
import resource
import sys

import torch
import torch.nn as nn

from restorelab.apis import restore_image
from restorelab.models.restorers.image_restorer import ImageRestorer
from restorelab.utils.image_io import imread_rgb


class Wide(nn.Module):
    """(N, 3, H, W) -> same shape through 32 channels (1x1 convolutions)."""
    size_multiple = 8

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 32, 1)
        self.b = nn.Conv2d(32, 3, 1)

    def forward(self, x):
        return x + 0.01 * self.b(torch.relu(self.a(x)))


path, tile = sys.argv[1], int(sys.argv[2])
img = imread_rgb(path)
torch.manual_seed(0)
model = ImageRestorer(arch=Wide(), pixel_loss=None,
                      test_cfg=dict(tile=tile, tile_overlap=16, tile_batch_size=1)).eval()
out = restore_image(model, img)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# The arch works pixel by pixel, so a corner restored whole must equal the same
# corner of the tiled result: the tiles were blended exactly.
corner = restore_image(model, img[:300, :300].copy(), test_cfg=dict(tile=None))
print(json.dumps(dict(shape=list(out.shape), dtype=str(out.dtype), peak_rss=peak,
                      corner_equal=bool((corner == out[:300, :300]).all()),
                      changed=int((out != img).sum()))))
