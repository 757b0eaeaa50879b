"""Pipelines and loader sizes shared by every paired deraining set in this folder.

Each dataset config (rain200h.py, ...) inherits this file through paired_loaders.py, whose
loaders are built from the named variables below. mmengine resolves a base file's variables when the base is
parsed, so a method config that only sets ``train_patch_size = 256`` changes the variable
but not the already built pipeline: re-state the train pipeline from the named pieces::

    _base_ = ['../_base_/default_runtime.py', '../_base_/datasets/rain200h.py']
    train_patch_size = 256
    train_batch_size = 2
    train_dataloader = dict(
        batch_size=train_batch_size,
        dataset=dict(pipeline=[
            *_base_.load_pair_pipeline,
            dict(type='PairedRandomCrop', patch_size=train_patch_size),
            *_base_.augment_pipeline,
            dict(type='PackInputs'),
        ]))

(``train_dataloader`` merges key by key, so the rest of the loader is kept; a list such as
``pipeline`` is replaced whole.)
"""
train_patch_size = 128  # square crop, pixels
train_batch_size = 4  # per process
train_num_workers = 4
val_num_workers = 2

load_pair_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='LoadImageFromFile', key='gt'),
]
# Restormer's / DRSformer's geometric augmentation: one of the 8 rotations/reflections of the
# square, uniformly (rotate by k*90 degrees, then flip upside down with p=0.5).
augment_pipeline = [
    dict(type='PairedRandomRot90'),
    dict(type='PairedRandomFlip', prob=0.5, direction='vertical'),
]
train_pipeline = [
    *load_pair_pipeline,
    dict(type='PairedRandomCrop', patch_size=train_patch_size),
    *augment_pipeline,
    dict(type='PackInputs'),
]
test_pipeline = [*load_pair_pipeline, dict(type='PackInputs')]
