"""Real rainy photos without ground truth (the DRSformer paper's Table 2 setting): every image
under ``data/RealRain`` (any depth of sub-folders), scored with NIQE and BRISQUE (lower is
better) of the restored image. docs/datasets.md says where SIRR's 147 real test photos come
from; the metrics' parameter files are published by their authors and not shipped
(docs/model_zoo.md: NIQE's ``modelparameters.mat`` in ``checkpoints/iqa/niqe/``, the LIVE
BRISQUE release's ``allmodel`` and ``allrange`` in ``checkpoints/iqa/brisque/``). Another
folder: ``test_dataloader.dataset.data_root`` (a benchmark entry's ``data_root``).
"""
dataset_name = 'RealRain'
data_root = 'data/RealRain'
niqe_params = 'checkpoints/iqa/niqe/modelparameters.mat'
brisque_params = 'checkpoints/iqa/brisque'

test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SingleImageDataset', data_root=data_root,
                 pipeline=[dict(type='LoadImageFromFile', key='img'), dict(type='PackInputs')]))
test_evaluator = [
    dict(type='NIQE', params_file=niqe_params, prefix=dataset_name),
    dict(type='BRISQUE', params_file=brisque_params, prefix=dataset_name),
]
