"""Rainy images without ground truth, e.g. real-world photographs to derain."""
import os

from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from restorelab.registry import DATASETS, SCOPE
from .layout import check_folder, index_by_key, natural_key


@DATASETS.register_module()
class SingleImageDataset(BaseDataset):
    """Every image file under ``data_root/data_prefix['img']`` (recursive, hidden entries skipped).

    Each data info holds ``img_path`` and ``key`` (the path relative to the folder, without
    extension). A missing folder, a folder without images, or two files with one stem
    (``1.png`` and ``1.jpg``) raise :class:`~restorelab.datasets.layout.DatasetLayoutError`
    at construction.
    """

    def __init__(self, data_root='', data_prefix=None, pipeline=(), test_mode=True, **kwargs):
        data_prefix = dict(data_prefix or dict(img=''))
        if set(data_prefix) != {'img'}:
            raise ValueError(f'SingleImageDataset: data_prefix takes only img, got {data_prefix}')
        # Pipeline types resolve in restorelab's scope even when no default scope is set.
        with DefaultScope.overwrite_default_scope(SCOPE):
            super().__init__(data_root=data_root, data_prefix=data_prefix, pipeline=list(pipeline),
                             test_mode=test_mode, **kwargs)

    def load_data_list(self):
        owner = type(self).__name__
        folder = self.data_prefix['img']
        layout = f'image files (any depth of sub-folders) under {folder!r}'
        files = check_folder(
            folder, 'image folder', owner, layout,
            f"Check data_root ({self.data_root!r}) and data_prefix['img'] in the dataset config "
            '(docs/datasets.md says where the files of each set go).')
        index = index_by_key(files, folder, 'image folder', owner)
        return [dict(img_path=os.path.join(folder, index[key]), key=key) for key in sorted(index, key=natural_key)]
