#!/usr/bin/env python
"""SPANet's released files through the converter against the release's own module with the same
files, on a generated rainy image in float32. A benchmark, not a test.

The release's ``SPANet.py`` is loaded from a checkout of stevewongv/SPANet with restorelab's IRNN
in place of its CUDA op (as in benchmarks/equivalence/spanet.py, whose IRNN check covers the
op); each file's ``net`` (``module.`` prefixes dropped) goes into it as the release's test code
loads it, and ``tools/convert_checkpoint.py spanet``'s conversion into restorelab's ``SPANet``.
The release runs on the image's channels reversed (BGR), restorelab on RGB. Writes the results
record ``spanet-released-weights`` (max abs difference and PSNR of the two outputs per file)::

    python benchmarks/spanet_released_weights.py --release /tmp/SPANet \\
        --file spanet_rain200h=/path/to/RecDerain/logs/RainHeavy/SPANet/step_40000 \\
        --file spanet_rain200l=/path/to/RecDerain/logs/RainLight/SPANet/latest
"""
import argparse
import math
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.equivalence.spanet import build_official, official_forward  # noqa: E402
from benchmarks.harness import write_record  # noqa: E402
from restorelab.models.archs import SPANet  # noqa: E402
from restorelab.models.converters import convert_official_checkpoint  # noqa: E402


def rainy_image(height, width, seed=0):
    """Smooth colour gradients with thin bright diagonal streaks of random strength, in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing='ij')
    image = torch.stack([0.3 + 0.4 * xx, 0.2 + 0.5 * yy, 0.5 + 0.3 * torch.sin(6 * xx * yy)])
    streaks = ((torch.arange(width)[None] + 2 * torch.arange(height)[:, None]) % 11 == 0).float()
    return (image + 0.4 * streaks * torch.rand(height, width, generator=generator)).clamp(0, 1)[None]


def compare(release_dir, path, image, scratch):
    raw = torch.load(path, map_location='cpu', weights_only=False)
    official = build_official(release_dir, 'SPANet').eval()
    official.load_state_dict({k.removeprefix('module.'): v for k, v in raw['net'].items()})
    converted = Path(scratch) / 'converted.pth'
    convert_official_checkpoint('spanet', str(path), str(converted))
    state = torch.load(converted, map_location='cpu', weights_only=False)['state_dict']
    ours = SPANet().eval()
    ours.load_state_dict({k.removeprefix('arch.'): v for k, v in state.items()})
    with torch.no_grad():
        theirs, mine = official_forward(official, image), ours(image)
    mse = (theirs - mine).pow(2).mean().item()
    return dict(file=str(path), float32_max_abs=(theirs - mine).abs().max().item(),
                float32_psnr_db=10 * math.log10(1 / mse) if mse else math.inf)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--release', required=True, type=Path, help='a checkout of stevewongv/SPANet')
    parser.add_argument('--file', action='append', default=[], metavar='NAME=PATH',
                        help="another released file (the release's model/latest is always measured)")
    parser.add_argument('--size', type=int, nargs=2, default=(64, 96), metavar=('H', 'W'))
    args = parser.parse_args()
    files = {'spanet_spa_data': args.release / 'model' / 'latest'}
    for item in args.file:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            parser.exit(2, f'spanet_released_weights.py: --file {item!r}: expected NAME=PATH\n')
        files[name] = Path(path)
    for path in files.values():
        if not path.is_file():
            parser.exit(2, f'spanet_released_weights.py: {str(path)!r} is not a file\n')
    torch.set_num_threads(1)
    image = rainy_image(*args.size)
    with tempfile.TemporaryDirectory() as scratch:
        results = {name: compare(args.release, path, image, scratch) for name, path in files.items()}
    for name, figures in results.items():
        print(f'{name}: max abs {figures["float32_max_abs"]:.2e}, {figures["float32_psnr_db"]:.1f} dB')
    print(write_record('spanet-released-weights', dict(
        release=dict(repo='stevewongv/SPANet', commit='82d28899c1793170335fdf2527eb365444533c8b'),
        size=list(args.size), dtype='float32', files=results)))


if __name__ == '__main__':
    main()
