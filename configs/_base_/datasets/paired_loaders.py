"""The loaders every paired deraining set in this folder uses, without a data folder.

Each dataset config (rain200h.py, ...) inherits this file and merges its folder, layout and
protocol into these loaders (``train_dataloader = dict(dataset=dict(data_root=...))``
merges key by key); the pipelines, patch and batch sizes come from paired_pipelines.py.
"""
_base_ = ['./paired_pipelines.py']

dataset_type = 'PairedImageDataset'

train_dataloader = dict(
    batch_size=_base_.train_batch_size,
    num_workers=_base_.train_num_workers,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=_base_.val_num_workers,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, test_mode=True, pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
