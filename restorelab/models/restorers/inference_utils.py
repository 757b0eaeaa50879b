"""Test-time helpers shared by ImageRestorer and the tools: padding to an arch's
size multiple, tiled inference with blended overlaps (a fixed tile, or one chosen
by the image's size), and x8 self-ensemble, with progress reported per arch call.

All take and return ``(N, C, H, W)`` tensors; ``fn`` is any callable mapping an
``(n, C, h, w)`` tensor to the same shape (an arch).
"""
import numbers

import torch
import torch.nn.functional as F

from restorelab.utils.errors import ConfigError, closest_names

PAD_MODES = ('reflect', 'replicate', 'constant')

# test_cfg keys of ImageRestorer / keyword arguments of restore_tensor, with defaults.
TEST_CFG_DEFAULTS = dict(
    pad_mode='reflect', tile=None, tile_overlap=32, tile_batch_size=1, self_ensemble=False,
    bf16=False, compile=False)
# Keys ImageRestorer handles itself (autocast, torch.compile); the rest are restore_tensor's arguments.
RESTORER_ONLY_KEYS = ('bf16', 'compile')
# tile='auto': images above AUTO_TILE_MAX_PIXELS run in tiles of at most that many pixels (see
# auto_tile), so memory is bounded by the tile, whatever the photo.
AUTO_TILE_MAX_PIXELS = 512 * 512


def is_int(value):
    """An integer that is not a bool (numpy integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_test_cfg(test_cfg, size_multiple=1):
    """Return ``test_cfg`` completed with defaults, or raise a :class:`ConfigError` (a
    ValueError) naming the bad key/value and, for an unknown key, the closest valid ones."""
    cfg = dict(TEST_CFG_DEFAULTS)
    test_cfg = dict(test_cfg or {})
    unknown = sorted(set(test_cfg) - set(cfg))
    if unknown:
        close = [c for key in unknown for c in closest_names(key, cfg)]
        hint = f'did you mean {" or ".join(repr(c) for c in close)}? ' if close else ''
        raise ConfigError(
            f'config error: test_cfg has the unknown key(s) {", ".join(map(repr, unknown))}; '
            f'{hint}test_cfg accepts: {", ".join(cfg)}. Fix model.test_cfg in the config or '
            'the --cfg-options entry.')
    cfg.update(test_cfg)
    if cfg['pad_mode'] not in PAD_MODES:
        raise ConfigError(f"test_cfg.pad_mode={cfg['pad_mode']!r}; expected one of {PAD_MODES}")
    tile = cfg['tile']
    if tile is not None and tile != 'auto':
        if not (is_int(tile) and tile > 0):
            raise ConfigError(f"test_cfg.tile={tile!r}; expected None (no tiling), 'auto' (tiles "
                             'for large images only) or an int > 0')
        if tile % size_multiple:
            lower = max(size_multiple, tile // size_multiple * size_multiple)
            raise ConfigError(
                f'test_cfg.tile={tile} is not a multiple of the arch\'s size_multiple {size_multiple}; '
                f'use {lower} or {lower + size_multiple}')
    overlap = cfg['tile_overlap']
    if not (is_int(overlap) and overlap >= 0):
        raise ConfigError(f'test_cfg.tile_overlap={overlap!r}; expected an int >= 0')
    if is_int(tile) and overlap >= tile:
        raise ConfigError(f'test_cfg.tile_overlap={overlap} must be smaller than test_cfg.tile={tile}')
    if tile == 'auto' and overlap >= auto_tile_side(size_multiple):
        raise ConfigError(f"test_cfg.tile_overlap={overlap} must be smaller than the tiles tile='auto' "
                         f'uses ({auto_tile_side(size_multiple)})')
    if not (is_int(cfg['tile_batch_size']) and cfg['tile_batch_size'] >= 1):
        raise ConfigError(f"test_cfg.tile_batch_size={cfg['tile_batch_size']!r}; expected an int >= 1")
    if not isinstance(cfg['self_ensemble'], bool):
        raise ConfigError(f"test_cfg.self_ensemble={cfg['self_ensemble']!r}; expected True or False")
    if not isinstance(cfg['bf16'], bool):
        raise ConfigError(f"test_cfg.bf16={cfg['bf16']!r}; expected True (bfloat16 autocast) or False")
    comp = cfg['compile']
    if not (isinstance(comp, bool) or (isinstance(comp, dict) and all(isinstance(k, str) for k in comp))):
        raise ConfigError(f'test_cfg.compile={comp!r}; expected True/False or a dict of torch.compile '
                         "keyword arguments, e.g. dict(mode='max-autotune')")
    return cfg


def check_size_multiple(size_multiple, owner='arch'):
    if not (is_int(size_multiple) and size_multiple >= 1):
        raise ValueError(f'{owner}.size_multiple={size_multiple!r}; expected an int >= 1')
    return int(size_multiple)


def _reflect_pad(x, pad_h, pad_w):
    """Reflect-pad bottom/right; pads larger than the image are done in rounds
    (reflecting the already padded image), a 1-pixel side is replicated."""
    while pad_h or pad_w:
        h, w = x.shape[-2:]
        ph, pw = min(pad_h, h - 1), min(pad_w, w - 1)
        if (pad_h and h == 1) or (pad_w and w == 1):
            x = F.pad(x, (0, pad_w if w == 1 else 0, 0, pad_h if h == 1 else 0), mode='replicate')
            pad_h, pad_w = (0 if h == 1 else pad_h), (0 if w == 1 else pad_w)
            continue
        x = F.pad(x, (0, pw, 0, ph), mode='reflect')
        pad_h, pad_w = pad_h - ph, pad_w - pw
    return x


def pad_to_multiple(x, size_multiple, pad_mode='reflect'):
    """Pad ``x`` ``(N, C, H, W)`` at the bottom and right so H and W are multiples
    of ``size_multiple``. Returns ``(padded, (H, W))``; crop back with
    ``out[..., :H, :W]``. 'constant' pads with zeros."""
    size_multiple = check_size_multiple(size_multiple, 'pad_to_multiple')
    if pad_mode not in PAD_MODES:
        raise ValueError(f'pad_mode={pad_mode!r}; expected one of {PAD_MODES}')
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % size_multiple, (-w) % size_multiple
    if pad_h or pad_w:
        if pad_mode == 'reflect':
            x = _reflect_pad(x, pad_h, pad_w)
        else:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=pad_mode)
    return x, (h, w)


def _run(fn, x):
    out = fn(x)
    if not torch.is_tensor(out) or out.shape != x.shape:
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(f'the arch must return a tensor of its input\'s shape {tuple(x.shape)}, got {got}')
    return out


def tile_starts(length, tile, overlap):
    """Start offsets of tiles of size ``tile`` covering ``length`` with stride
    ``tile - overlap``; the last tile ends at ``length`` (as in Restormer's test)."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    return list(range(0, length - tile, stride)) + [length - tile]


def blend_ramp(size, overlap, ramp_start, ramp_end):
    """1-D blending weights ``(size,)`` float64 of one tile.

    At a side that meets another tile (``ramp_start``/``ramp_end`` True) the weight
    is 0 for the first ``m = overlap // 4`` pixels, then rises linearly over
    ``L = overlap - 2 m`` pixels as ``(d - m + 1) / (L + 1)`` and is 1 beyond
    (``d`` = distance from that side). Two tiles overlapping by ``overlap`` thus
    cross-fade linearly with weights summing to 1, and pixels within ``m`` of a
    tile's inner edge (the least reliable ones) do not count at all. Sides on the
    image border keep weight 1.
    """
    m = overlap // 4
    ramp = overlap - 2 * m
    d = torch.arange(size, dtype=torch.float64)
    w = torch.ones(size, dtype=torch.float64)

    def side(dist):
        return ((dist - m + 1) / (ramp + 1)).clamp(0.0, 1.0)

    if ramp_start:
        w = torch.minimum(w, side(d))
    if ramp_end:
        w = torch.minimum(w, side(size - 1 - d))
    return w


def tiled_forward(fn, x, tile, tile_overlap=32, tile_batch_size=1):
    """Apply ``fn`` to ``x`` ``(N, C, H, W)`` in overlapping ``tile x tile`` windows.

    H and W must already be valid for the arch (see :func:`pad_to_multiple`) and
    ``tile`` a multiple of its size multiple; a side shorter than ``tile`` is one
    tile. Windows run ``tile_batch_size`` at a time, so memory is bounded by the
    tile, not the image. Outputs are blended with :func:`blend_ramp` weights,
    accumulated in float64 and normalised, so identical overlapping values are
    reproduced exactly. When one tile covers the image, ``fn(x)`` is returned as is.
    """
    n, c, h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    ys, xs = tile_starts(h, th, tile_overlap), tile_starts(w, tw, tile_overlap)
    if len(ys) == 1 and len(xs) == 1:
        return _run(fn, x)
    out = torch.zeros((n, c, h, w), dtype=torch.float64, device=x.device)
    norm = torch.zeros((1, 1, h, w), dtype=torch.float64, device=x.device)
    windows = [(y, xx) for y in ys for xx in xs]
    for i in range(n):
        for k in range(0, len(windows), tile_batch_size):
            group = windows[k:k + tile_batch_size]
            batch = torch.stack([x[i, :, y:y + th, xx:xx + tw] for y, xx in group])
            pred = _run(fn, batch)
            for (y, xx), p in zip(group, pred):
                wy = blend_ramp(th, tile_overlap, y > 0, y + th < h)
                wx = blend_ramp(tw, tile_overlap, xx > 0, xx + tw < w)
                weight = (wy[:, None] * wx[None, :]).to(x.device)
                out[i, :, y:y + th, xx:xx + tw] += p.to(torch.float64) * weight
                if i == 0:
                    norm[0, 0, y:y + th, xx:xx + tw] += weight
    if not bool((norm > 0).all()):  # cannot happen with blend_ramp; guards future edits
        raise RuntimeError('tiled_forward left pixels without any tile weight')
    return (out / norm).to(x.dtype)


def auto_tile(height, width, size_multiple=1, tile_overlap=32, max_pixels=AUTO_TILE_MAX_PIXELS):
    """The tile size ``tile='auto'`` uses for an ``height x width`` input.

    None (the whole image at once) up to ``max_pixels`` pixels. Above, the tiles are as few
    as tiles of :func:`auto_tile_side` (512 by default) need, and then as small as that count
    allows (in steps of ``size_multiple``): an 800x600 photo runs in four 416-pixel tiles
    rather than four 512-pixel ones, which would compute 2.2 times its pixels.
    """
    if height * width <= max_pixels:
        return None
    tile = auto_tile_side(size_multiple, max_pixels)

    def count(length, size):
        return len(tile_starts(length, min(size, length), tile_overlap))

    fewest = count(height, tile) * count(width, tile)
    while (tile - size_multiple > tile_overlap
           and count(height, tile - size_multiple) * count(width, tile - size_multiple) <= fewest):
        tile -= size_multiple
    return tile


def auto_tile_side(size_multiple=1, max_pixels=AUTO_TILE_MAX_PIXELS):
    """The largest tile ``tile='auto'`` uses: the largest multiple of ``size_multiple`` whose
    square has at most ``max_pixels`` pixels (see :func:`auto_tile`)."""
    size_multiple = check_size_multiple(size_multiple, 'auto_tile')
    side = int(max_pixels ** 0.5)
    return max(size_multiple, side // size_multiple * size_multiple)


def resolve_tile(tile, height, width, size_multiple=1, tile_overlap=32):
    """``tile`` as tiled inference uses it for an ``height x width`` input: 'auto' becomes
    :func:`auto_tile`'s choice, None and ints stay."""
    return auto_tile(height, width, size_multiple, tile_overlap) if tile == 'auto' else tile


def count_arch_calls(height, width, size_multiple=1, tile=None, tile_overlap=32, tile_batch_size=1,
                     self_ensemble=False, batch=1):
    """How many times :func:`restore_tensor` calls the arch for ``batch`` images of
    ``height x width`` (the total its ``progress`` callback counts to)."""
    ph, pw = height + (-height) % size_multiple, width + (-width) % size_multiple
    tile = resolve_tile(tile, ph, pw, size_multiple, tile_overlap)
    if tile is None:
        windows = 1
    else:
        windows = len(tile_starts(ph, min(tile, ph), tile_overlap)) * \
            len(tile_starts(pw, min(tile, pw), tile_overlap))
        windows = batch * -(-windows // tile_batch_size) if windows > 1 else 1
    return windows * (8 if self_ensemble else 1)


def _d4(x, k):
    """The k-th of the 8 flips/transposes of ``(N, C, H, W)`` (k in 0..7)."""
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    if k & 4:
        x = x.transpose(-2, -1)
    return x


def _d4_inverse(x, k):
    if k & 4:
        x = x.transpose(-2, -1)
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    return x


def restore_tensor(fn, x, size_multiple=1, pad_mode='reflect', tile=None, tile_overlap=32,
                   tile_batch_size=1, self_ensemble=False, progress=None):
    """Full test-time pipeline for ``x`` ``(N, C, H, W)`` -> ``(N, C, H, W)`` (not clamped).

    For each of the 8 flips/transposes (only the identity unless
    ``self_ensemble``): pad to ``size_multiple``, run ``fn`` whole or tiled
    (``tile='auto'``: tiled only when the padded image is large, see
    :func:`auto_tile`), crop back, undo the flip/transpose; the 8 results are
    averaged in float64. The other keyword arguments are ImageRestorer's
    ``test_cfg`` keys.

    ``progress(done, total)``, when given, is called with ``done=0`` before the
    first arch call and after each one (``total`` from :func:`count_arch_calls`).
    An exception it raises stops the work there and propagates: this is how a
    caller cancels a long restoration between tiles.
    """
    size_multiple = check_size_multiple(size_multiple)
    check_test_cfg(dict(pad_mode=pad_mode, tile=tile, tile_overlap=tile_overlap,
                        tile_batch_size=tile_batch_size, self_ensemble=self_ensemble), size_multiple)
    if x.dim() != 4:
        raise ValueError(f'expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}')
    if progress is not None:
        total = count_arch_calls(*x.shape[-2:], size_multiple, tile, tile_overlap,
                                 tile_batch_size, self_ensemble, batch=x.shape[0])
        done, arch = 0, fn

        def fn(batch):
            nonlocal done
            out = arch(batch)
            done += 1
            progress(done, total)
            return out

        progress(0, total)

    def once(img):
        padded, (h, w) = pad_to_multiple(img, size_multiple, pad_mode)
        tile_now = resolve_tile(tile, *padded.shape[-2:], size_multiple, tile_overlap)
        if tile_now is None:
            out = _run(fn, padded)
        else:
            out = tiled_forward(fn, padded, tile_now, tile_overlap, tile_batch_size)
        return out[..., :h, :w]

    if not self_ensemble:
        return once(x)
    acc = None
    for k in range(8):
        out = _d4_inverse(once(_d4(x, k)), k).to(torch.float64)
        acc = out if acc is None else acc + out
    return (acc / 8).to(x.dtype)
