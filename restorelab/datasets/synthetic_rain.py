"""Synthetic rain: streaks rendered onto clean images the way the synthetic deraining sets
(Rain100/Rain200 style) were made, as a transform, a dataset over a folder of clean photos,
and the photographs embedded in scikit-image as a default source of clean images.

One rain layer is rendered as: a uniform noise field thresholded to sparse *seeds* (the
fraction ``density`` of pixels, each with a random brightness), widened by a Gaussian of
``width`` pixels, smeared by a line-shaped motion-blur kernel of ``length`` pixels along the
fall direction ``angle``, thresholded (dim streaks and blur tails vanish) and scaled by
``intensity``. Layers are rendered at a few ``scales`` (a layer at scale ``s`` is drawn at
``1/s`` resolution and upsampled, so its streaks are ``s`` times longer and wider: near and
far drops) and merged by screen blending. The rain is then blended onto the (optionally
hazed) image with ``'screen'`` or ``'additive'`` blending; both only brighten.

Angles are in degrees from vertical, positive when the streak's lower end lies to the right
(wind blowing left to right). Every parameter is a number or a ``(low, high)`` range drawn
uniformly per image (``scales`` is a tuple of layer scales).
"""
import os

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from restorelab.registry import DATASETS, SCOPE, TRANSFORMS
from restorelab.utils.errors import SyntheticRainError
from .layout import check_folder, index_by_key

BLEND_MODES = ('screen', 'additive')

# Rain200L-like sparse thin streaks and Rain200H-like dense streaks at three scales with haze.
RAIN_PRESETS = dict(
    light=dict(density=(0.002, 0.004), angle=(-15.0, 15.0), angle_jitter=3.0,
               length=(12.0, 24.0), width=(1.0, 1.3), intensity=(0.45, 0.7), threshold=0.15,
               scales=(1.0, ), haze=0.0, airlight=(0.85, 1.0), blend='screen'),
    heavy=dict(density=(0.002, 0.004), angle=(-30.0, 30.0), angle_jitter=6.0,
               length=(20.0, 40.0), width=(1.0, 1.8), intensity=(0.5, 0.8), threshold=0.2,
               scales=(1.0, 2.0, 3.0), haze=(0.0, 0.15), airlight=(0.85, 1.0), blend='screen'),
)
RAIN_PARAMS = tuple(RAIN_PRESETS['heavy'])

# Natural colour photographs shipped inside scikit-image that load without any download
# (checked with scikit-image 0.26): name -> skimage.data function (and index into its tuple).
SKIMAGE_PHOTOS = dict(
    astronaut=('astronaut', None),
    chelsea=('chelsea', None),
    coffee=('coffee', None),
    rocket=('rocket', None),
    hubble_deep_field=('hubble_deep_field', None),
    motorcycle_left=('stereo_motorcycle', 0),
    motorcycle_right=('stereo_motorcycle', 1),
)


def _check_range(name, value, low, high):
    """``value`` is a number or a (low, high) pair inside ``[low, high]``; returns a pair."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        pair = (float(value), float(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 \
            and all(isinstance(v, (int, float, np.number)) for v in value):
        pair = (float(value[0]), float(value[1]))
    else:
        raise SyntheticRainError(f'synthetic rain: {name}={value!r}; expected a number or a '
                                 f'(low, high) pair within [{low}, {high}]')
    if not (low <= pair[0] <= pair[1] <= high):
        raise SyntheticRainError(f'synthetic rain: {name}={value!r}; expected values in '
                                 f'[{low}, {high}] with low <= high')
    return pair


def resolve_rain_params(preset='heavy', **overrides):
    """The parameters of ``preset`` ('light'|'heavy') updated by ``overrides``, checked.

    Returns a dict with every key of :data:`RAIN_PARAMS`; ranges become ``(low, high)`` pairs.
    """
    if preset not in RAIN_PRESETS:
        raise SyntheticRainError(f'synthetic rain: preset={preset!r}; expected one of '
                                 f'{sorted(RAIN_PRESETS)}')
    unknown = sorted(set(overrides) - set(RAIN_PARAMS))
    if unknown:
        raise SyntheticRainError(f'synthetic rain: unknown parameter(s) {unknown}; valid: '
                                 f'{sorted(RAIN_PARAMS)}')
    p = dict(RAIN_PRESETS[preset], **overrides)
    out = dict(
        density=_check_range('density', p['density'], 0.0, 1.0),
        angle=_check_range('angle', p['angle'], -89.0, 89.0),
        angle_jitter=_check_range('angle_jitter', p['angle_jitter'], 0.0, 45.0)[1],
        length=_check_range('length', p['length'], 1.0, 1000.0),
        width=_check_range('width', p['width'], 0.5, 50.0),
        intensity=_check_range('intensity', p['intensity'], 0.0, 1.0),
        threshold=_check_range('threshold', p['threshold'], 0.0, 0.99)[1],
        haze=_check_range('haze', p['haze'], 0.0, 1.0),
        airlight=_check_range('airlight', p['airlight'], 0.0, 1.0),
        blend=p['blend'],
    )
    scales = p['scales']
    if isinstance(scales, (int, float)):
        scales = (scales, )
    if not (isinstance(scales, (tuple, list)) and scales
            and all(isinstance(s, (int, float)) and 1 <= s <= 16 for s in scales)):
        raise SyntheticRainError(f'synthetic rain: scales={scales!r}; expected a non-empty tuple '
                                 'of layer scales in [1, 16], e.g. (1, 2, 3)')
    out['scales'] = tuple(float(s) for s in scales)
    if out['blend'] not in BLEND_MODES:
        raise SyntheticRainError(f"synthetic rain: blend={out['blend']!r}; expected one of "
                                 f'{BLEND_MODES}')
    return out


def _uniform(rng, pair):
    low, high = pair
    return low if low == high else float(rng.uniform(low, high))


def motion_blur_kernel(length, angle):
    """A ``(k, k)`` float32 line kernel of ``length`` pixels along ``angle`` (degrees from
    vertical, positive: lower end to the right), antialiased, with maximum 1."""
    k = int(np.ceil(length)) | 1
    c = (k - 1) / 2
    half = (length - 1) / 2
    dx, dy = np.sin(np.deg2rad(angle)), np.cos(np.deg2rad(angle))
    shift = 4  # cv2.line's fixed-point sub-pixel bits
    scale = 1 << shift
    kernel = np.zeros((k, k), np.float32)
    p0 = (int(round((c - half * dx) * scale)), int(round((c - half * dy) * scale)))
    p1 = (int(round((c + half * dx) * scale)), int(round((c + half * dy) * scale)))
    cv2.line(kernel, p0, p1, 1.0, 1, cv2.LINE_AA, shift)
    if kernel.max() <= 0:
        kernel[k // 2, k // 2] = 1.0
    return kernel / kernel.max()


def render_rain_layer(shape, rng, density, angle, length, width, intensity, threshold):
    """One layer of streaks: ``(H, W)`` float32 map in [0, 1] (the rain's opacity)."""
    h, w = shape
    seeds = rng.random((h, w), dtype=np.float32)
    brightness = rng.uniform(0.3, 1.0, size=(h, w)).astype(np.float32)
    seeds = np.where(seeds < density, brightness, np.float32(0))
    if width > 1:
        sigma = 0.5 * (width - 1) + 1e-3
        g = cv2.getGaussianKernel(int(2 * np.ceil(3 * sigma) + 1), sigma)
        seeds = cv2.sepFilter2D(seeds, -1, g, g, borderType=cv2.BORDER_REFLECT)
        seeds /= float(g.max() ** 2)  # an isolated seed keeps its brightness at the centre
    kernel = motion_blur_kernel(length, angle)
    streaks = cv2.filter2D(seeds, -1, kernel, borderType=cv2.BORDER_REFLECT)
    streaks = np.clip((streaks - threshold) / (1 - threshold), 0, 1)
    return (streaks * intensity).astype(np.float32)


def sample_rain_map(shape, rng, params):
    """Rain opacity ``(H, W)`` float32 in [0, 1] for one image: layers at every scale,
    merged by screen blending. ``params`` from :func:`resolve_rain_params`."""
    h, w = shape
    angle = _uniform(rng, params['angle'])
    rain = np.zeros((h, w), np.float32)
    for scale in params['scales']:
        lh, lw = max(1, int(round(h / scale))), max(1, int(round(w / scale)))
        jitter = params['angle_jitter']
        layer = render_rain_layer(
            (lh, lw), rng,
            density=_uniform(rng, params['density']),
            angle=angle + (float(rng.uniform(-jitter, jitter)) if jitter else 0.0),
            length=_uniform(rng, params['length']),
            width=_uniform(rng, params['width']),
            intensity=_uniform(rng, params['intensity']),
            threshold=params['threshold'])
        if (lh, lw) != (h, w):
            layer = cv2.resize(layer, (w, h), interpolation=cv2.INTER_LINEAR)
        rain = 1 - (1 - rain) * (1 - layer)
    return rain


def _haze_map(shape, rng, strength):
    """A smooth veil ``(H, W)`` float32 of mean about ``strength`` (low-frequency noise)."""
    h, w = shape
    coarse = rng.uniform(0.6, 1.0, size=(max(2, h // 64), max(2, w // 64))).astype(np.float32)
    return strength * cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def add_synthetic_rain(img, rng, params=None, return_rain=False):
    """Render rain onto ``img`` ``(H, W, 3)`` uint8/uint16/float RGB; returns the same shape
    and dtype (and the ``(H, W)`` rain opacity when ``return_rain``).

    ``rng`` is a ``numpy.random.Generator`` (or an int seed); ``params`` a dict from
    :func:`resolve_rain_params` (default: the heavy preset).
    """
    if params is None:
        params = resolve_rain_params('heavy')
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        raise SyntheticRainError(f'add_synthetic_rain: expected an (H, W, 3) RGB array, got '
                                 f'{getattr(img, "shape", type(img).__name__)}')
    if img.dtype == np.uint8:
        max_value = 255.0
    elif img.dtype == np.uint16:
        max_value = 65535.0
    elif np.issubdtype(img.dtype, np.floating):
        max_value = 1.0
    else:
        raise SyntheticRainError(f'add_synthetic_rain: pixel type {img.dtype}; expected uint8, '
                                 'uint16 or float in [0, 1]')
    x = img.astype(np.float32) / np.float32(max_value)
    h, w = x.shape[:2]
    haze = _uniform(rng, params['haze'])
    airlight = _uniform(rng, params['airlight'])
    rain = sample_rain_map((h, w), rng, params)
    if haze > 0:
        t = _haze_map((h, w), rng, haze)[..., None]
        # Veiling only lifts: pixels brighter than the airlight keep their value.
        x = np.maximum(x, x * (1 - t) + airlight * t)
    r = rain[..., None]
    if params['blend'] == 'screen':
        out = 1 - (1 - x) * (1 - r)
    else:
        out = np.minimum(x + r, 1.0)
    if max_value == 1.0:
        out = out.astype(img.dtype)
    else:
        # Never darker than the clean image, also after rounding.
        out = np.maximum(np.round(out * max_value).astype(img.dtype), img)
    return (out, rain) if return_rain else out


def seed_for_index(seed, index):
    """The rain seed of dataset item ``index`` under base ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


@TRANSFORMS.register_module()
class AddSyntheticRain(BaseTransform):
    """Render synthetic rain onto ``results[source]`` (clean) into ``results[target]`` (rainy).

    Defaults read ``gt`` and write ``img`` (with ``img_path`` = ``gt_path``, ``ori_shape`` and
    ``bit_depth``), so a pipeline over clean photos yields training pairs. The randomness:
    ``results['rain_seed']`` when the data info has one (a fixed rain per item, see
    :class:`SyntheticRainDataset`), else this transform's own generator when ``seed`` is set,
    else numpy's global generator (which mmengine seeds per worker with ``randomness``).

    Args:
        preset (str): 'light' or 'heavy' (see :data:`RAIN_PRESETS`); other keyword arguments
            (density, angle, angle_jitter, length, width, intensity, threshold, scales, haze,
            airlight, blend) override it.
        seed (int | None): seed of this transform's own generator (for single-process use:
            dataloader workers would each copy the same stream; training leaves it None).
        source, target (str): result keys of the clean and the rainy image.
    """

    def __init__(self, preset='heavy', seed=None, source='gt', target='img', **params):
        self.preset = preset
        self.overrides = params
        self.params = resolve_rain_params(preset, **params)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.source, self.target = source, target

    def _generator(self, results):
        if results.get('rain_seed') is not None:
            return np.random.default_rng(results['rain_seed'])
        if self._rng is not None:
            return self._rng
        return np.random.default_rng(np.random.randint(0, 2**31 - 1))

    def transform(self, results):
        if self.source not in results:
            raise KeyError(f'AddSyntheticRain: no {self.source!r} in the results (have '
                           f'{sorted(results)}); load the clean image first with '
                           f"LoadImageFromFile(key='{self.source}')")
        clean = results[self.source]
        results[self.target] = add_synthetic_rain(clean, self._generator(results), self.params)
        if self.target == 'img':
            results.setdefault('img_path', results.get(f'{self.source}_path'))
            results['ori_shape'] = tuple(clean.shape[:2])
            results['bit_depth'] = 8 * clean.dtype.itemsize
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(preset={self.preset!r}, seed={self.seed!r}, '
                f'source={self.source!r}, target={self.target!r}, {self.overrides})')


@DATASETS.register_module()
class SyntheticRainDataset(BaseDataset):
    """Rainy/clean pairs made on the fly from a folder of clean images (any depth).

    Each item loads a clean image into ``gt``, renders rain into ``img`` with
    :class:`AddSyntheticRain` (``rain`` holds its arguments) and then runs ``pipeline``
    (crop, flips, ``PackInputs``...). With ``deterministic=True`` item ``i`` always gets the
    same rain (seed from ``(seed, i)``): a fixed test set. Otherwise the rain differs every
    time an image is drawn (training augmentation). ``num_variants`` lists every clean image
    that many times (keys ``<name>_<k>``), each with its own rain.

    Data infos hold ``gt_path``, ``img_path`` (the clean file the rain is drawn on), ``key``
    and, when deterministic, ``rain_seed``.

    Raises:
        DatasetLayoutError: when the folder is missing or holds no images.
    """

    def __init__(self, data_root='', data_prefix=None, rain=None, deterministic=False, seed=0,
                 num_variants=1, pipeline=(), test_mode=False, **kwargs):
        data_prefix = dict(data_prefix or dict(gt=''))
        if set(data_prefix) != {'gt'}:
            raise ValueError(f'SyntheticRainDataset: data_prefix takes only gt (the clean-image '
                             f'folder), got {data_prefix}')
        if not (isinstance(num_variants, int) and num_variants >= 1):
            raise ValueError(f'SyntheticRainDataset: num_variants={num_variants!r}; expected an '
                             'int >= 1')
        self.deterministic = bool(deterministic)
        self.seed = int(seed)
        self.num_variants = num_variants
        rain = dict(rain or {})
        rain.pop('type', None)
        full = [dict(type='LoadImageFromFile', key='gt'), dict(type='AddSyntheticRain', **rain),
                *pipeline]
        with DefaultScope.overwrite_default_scope(SCOPE):
            super().__init__(data_root=data_root, data_prefix=data_prefix, pipeline=full,
                             test_mode=test_mode, **kwargs)

    def load_data_list(self):
        owner = type(self).__name__
        folder = self.data_prefix['gt']
        files = check_folder(
            folder, 'clean-image folder', owner, f'clean image files (any depth) under {folder!r}',
            f"Check data_root ({self.data_root!r}) and data_prefix['gt'] in the dataset config.")
        index = index_by_key(files, folder, 'clean-image folder', owner)
        data_list = []
        for key in sorted(index):
            path = os.path.join(folder, index[key])
            for k in range(self.num_variants):
                item_key = key if self.num_variants == 1 else f'{key}_{k + 1}'
                info = dict(gt_path=path, img_path=path, key=item_key)
                if self.deterministic:
                    info['rain_seed'] = seed_for_index(self.seed, len(data_list))
                data_list.append(info)
        return data_list


def load_skimage_photo(name):
    """One of :data:`SKIMAGE_PHOTOS` as an ``(H, W, 3)`` RGB uint8 array (no download)."""
    if name not in SKIMAGE_PHOTOS:
        raise SyntheticRainError(f'unknown scikit-image photograph {name!r}; available: '
                                 f'{sorted(SKIMAGE_PHOTOS)}')
    import skimage.data
    func, index = SKIMAGE_PHOTOS[name]
    img = getattr(skimage.data, func)()
    if index is not None:
        img = img[index]
    return np.ascontiguousarray(img[..., :3])


def export_skimage_photos(folder, names=None, max_side=None):
    """Write scikit-image's photographs as PNGs into ``folder`` (``<name>.png``), optionally
    shrunk so the longer side is at most ``max_side``. Returns the written paths."""
    from restorelab.utils.image_io import imwrite_rgb
    paths = []
    for name in names or SKIMAGE_PHOTOS:
        img = load_skimage_photo(name)
        if max_side and max(img.shape[:2]) > max_side:
            f = max_side / max(img.shape[:2])
            size = (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        path = os.path.join(folder, f'{name}.png')
        imwrite_rgb(path, img)
        paths.append(path)
    return paths


def write_synthetic_pairs(clean_dir, out_dir, n_per_image=1, seed=0, preset='heavy',
                          overrides=None, progress=False):
    """Write ``out_dir/input/<key>.png`` (rainy) and ``out_dir/target/<key>.png`` (clean) for
    every image under ``clean_dir`` (Rain200 layout; same seed, same files). Returns the
    number of pairs. The rain of pair ``i`` is seeded from ``(seed, i)``."""
    from restorelab.utils.image_io import imwrite_rgb
    ds = SyntheticRainDataset(data_root=clean_dir, data_prefix=dict(gt=''),
                              rain=dict(preset=preset, **(overrides or {})), deterministic=True,
                              seed=seed, num_variants=n_per_image, test_mode=True)
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(ds))
    for i in range(len(ds)):
        item = ds[i]
        imwrite_rgb(os.path.join(out_dir, 'input', f"{item['key']}.png"), item['img'])
        imwrite_rgb(os.path.join(out_dir, 'target', f"{item['key']}.png"), item['gt'])
        if bar:
            bar.update()
    if bar:
        bar.file.write('\n')
    return len(ds)
