"""Loading image files into the results dict as numpy RGB arrays."""
from mmcv.transforms import BaseTransform

from restorelab.registry import TRANSFORMS
from restorelab.utils.errors import ImagePairSizeError
from restorelab.utils.image_io import imread_rgb


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results[key + '_path']`` into ``results[key]``: ``(H, W, 3)`` RGB uint8 or uint16.

    Decoding goes through :func:`restorelab.utils.image_io.imread_rgb` (by content, so a JPEG
    named ``.png`` loads; gray becomes 3 channels; alpha is dropped; 16-bit PNG/TIFF keep
    16 bits). For ``key='img'`` it records ``ori_shape`` ``(H, W)`` and ``bit_depth`` (8 or 16);
    for another key, ``<key>_ori_shape`` and ``<key>_bit_depth``.

    When the data info carries ``side_by_side`` ('rain_left' or 'rain_right', see
    ``PairedImageDataset``), the file holds both images: ``'img'`` takes the rainy half and any
    other key the clean half.

    Raises:
        ImageReadError: naming the file, when it is missing or cannot be decoded.
        ImagePairSizeError: loading a key other than ``'img'`` when ``results['img']`` is
            already loaded with another size (a rainy image and its ground truth must cover
            the same pixels), naming both files and sizes.
    """

    def __init__(self, key='img'):
        if not isinstance(key, str) or not key:
            raise ValueError(f'LoadImageFromFile: key must be a non-empty string, got {key!r}')
        self.key = key

    def transform(self, results):
        path_key = f'{self.key}_path'
        if path_key not in results:
            raise KeyError(
                f'LoadImageFromFile(key={self.key!r}) needs {path_key!r} in the data info; it has '
                f'{sorted(results)}. Is the dataset paired (PairedImageDataset) when loading gt?')
        path = results[path_key]
        img = imread_rgb(path)
        side = results.get('side_by_side')
        if side:
            img = self._half(img, path, side)
        if self.key != 'img' and 'img' in results and \
                tuple(results['img'].shape[:2]) != tuple(img.shape[:2]):
            raise ImagePairSizeError(
                f'the rainy image {results.get("img_path")!r} is {results["img"].shape[1]}x'
                f'{results["img"].shape[0]} (WxH) but its {self.key} {path!r} is {img.shape[1]}x'
                f'{img.shape[0]}; a pair must have equal sizes. Check the pairing (data_prefix, '
                'filename_tmpl) or re-export the files.')
        results[self.key] = img
        prefix = '' if self.key == 'img' else f'{self.key}_'
        results[f'{prefix}ori_shape'] = tuple(img.shape[:2])
        results[f'{prefix}bit_depth'] = 8 * img.dtype.itemsize
        return results

    def _half(self, img, path, side):
        h, w = img.shape[:2]
        if w % 2:
            raise ValueError(
                f'{path!r} is {w} pixels wide; a side-by-side pair needs an even width (two '
                f'halves of {w // 2} pixels cannot be cut exactly). Check side_by_side={side!r}.')
        rain_left = side == 'rain_left'
        want_left = (self.key == 'img') == rain_left
        half = w // 2
        return img[:, :half] if want_left else img[:, half:]

    def __repr__(self):
        return f'{type(self).__name__}(key={self.key!r})'
