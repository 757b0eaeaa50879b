"""Build a restorer from a config and restore single images: what tools and users call."""
import os

import numpy as np
import torch

from restorelab.utils.errors import CheckpointMismatchError, InferenceMemoryError
from .models import load_restorer, load_weights  # noqa: F401  (load_weights: the apis name)


def _is_out_of_memory(err):
    if isinstance(err, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ("can't allocate memory" in text
                                              or 'out of memory' in text.lower())


def init_model(config, checkpoint=None, device='cpu'):
    """Build ``config``'s model (a path, Config or dict with a ``model`` entry) in
    restorelab's default scope, load ``checkpoint`` if given (see
    :func:`load_weights`), move it to ``device`` and put it in eval mode.
    The config is kept as ``model.cfg``.

    ``config`` may instead be the name of a released model (``'prenet_rain100h'``; see
    ``restorelab.apis.zoo.list_released``), with no ``checkpoint``: its official file is
    downloaded once into the cache (``$RESTORELAB_ZOO_CACHE``, default
    ``~/.cache/restorelab/zoo``), its sha256 verified, and it is converted and loaded with
    ``torch.load(weights_only=True)``. The entry is kept as ``model.released``.
    A shorthand of :func:`restorelab.apis.models.load_restorer`, which takes every kind of
    model reference.
    """
    if isinstance(config, (str, os.PathLike)) and not os.path.isfile(config):
        from .zoo import find_release
        find_release(config)  # neither a file nor a name: the error lists the names
        if checkpoint is None:
            return load_restorer(dict(zoo=os.fspath(config)), device)
    # A released name with a checkpoint is refused by load_restorer (it brings its own weights).
    return load_restorer(dict(config=config, checkpoint=checkpoint), device)


def restore_image(model, img, test_cfg=None, progress=None):
    """Restore one ``(H, W, 3)`` RGB uint8/uint16 image; returns the same shape and dtype.

    Runs ``model.restore`` (padding, tiling, self-ensemble and clamping from
    ``model.test_cfg``, with the keys of ``test_cfg`` overriding it for this call)
    on the model's device; the result is rounded to the input's bit depth.
    ``progress(done, total)`` is called around every arch call (tiles, ensemble
    passes); an exception it raises stops the work (see ``restore_tensor``).

    Raises:
        InferenceMemoryError: when the device runs out of memory, naming the image
            size and the tiling in use and suggesting a tile size.
    """
    from restorelab.models.restorers.inference_utils import check_test_cfg

    if not hasattr(model, 'restore'):
        raise TypeError(f'restore_image needs an ImageRestorer (see init_model), got {type(model).__name__}')
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
            or img.dtype not in (np.uint8, np.uint16):
        desc = f'{img.shape} {img.dtype}' if isinstance(img, np.ndarray) else type(img).__name__
        raise ValueError(f'restore_image expects an (H, W, 3) RGB uint8 or uint16 array, got {desc}; '
                         'read files with restorelab.utils.image_io.imread_rgb')
    max_value = 255.0 if img.dtype == np.uint8 else 65535.0
    device = next(iter(model.parameters()), torch.empty(0)).device
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(device)
    x = (x.float() / max_value)[None]
    saved = model.test_cfg
    if test_cfg:
        model.test_cfg = check_test_cfg({**saved, **test_cfg}, model.size_multiple)
    tile, out_of_memory = model.test_cfg['tile'], None
    try:
        out = model.restore(x, progress=progress)[0]
    except Exception as err:  # noqa: BLE001  only memory errors are translated
        if not _is_out_of_memory(err):
            raise
        out_of_memory = f'{type(err).__name__}: {str(err).splitlines()[0][:300]}'
    finally:
        model.test_cfg = saved
    if out_of_memory:  # raised outside the except block: the old traceback and its tensors are freed
        raise InferenceMemoryError(_memory_advice(img.shape, tile, device, out_of_memory))
    out = (out * max_value).round().clamp_(0, max_value).cpu().numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(out.astype(img.dtype))


def _memory_advice(shape, tile, device, message):
    h, w = shape[:2]
    smaller = 256 if tile in (None, 'auto') or tile > 256 else max(32, tile // 2)
    tiling = ('without tiling' if tile is None else
              "with tile='auto'" if tile == 'auto' else f'in {tile}x{tile} tiles')
    return (f'out of memory restoring a {w}x{h} image {tiling} on {device} ({message}). '
            f'Restore it in smaller tiles, e.g. tile={smaller} (tools/derain.py --tile {smaller}; '
            'the web app\'s tile size), or on a device with more memory.')
