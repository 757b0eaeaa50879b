"""Rain200H (synthetic heavy rain; 1800 training and 200 test pairs), as shipped with the
DRSformer and Restormer releases: same file names in ``input/`` and ``target/``::

    data/Rain200H/train/input/1.png ...     data/Rain200H/train/target/1.png ...
    data/Rain200H/test/input/1.png ...      data/Rain200H/test/target/1.png ...

Validation runs on the test split, as in the DRSformer release. Scored with the
'restormer' protocol (Y channel, MATLAB rgb2ycbcr). See paired_pipelines.py to change
the patch size or batch size in a method config.
"""
_base_ = ['./paired_pipelines.py']

dataset_type = 'PairedImageDataset'
dataset_name = 'Rain200H'
data_root = 'data/Rain200H'
eval_protocol = 'restormer'

train_dataloader = dict(
    batch_size=_base_.train_batch_size,
    num_workers=_base_.train_num_workers,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='train/input', gt='train/target'),
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=_base_.val_num_workers,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='test/input', gt='test/target'),
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PSNR', protocol=eval_protocol, prefix=dataset_name),
    dict(type='SSIM', protocol=eval_protocol, prefix=dataset_name),
]
test_evaluator = val_evaluator
