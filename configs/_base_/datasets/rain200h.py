"""Rain200H (synthetic heavy rain; 1800 training and 200 test pairs), as shipped with the
DRSformer and Restormer releases: same file names in ``input/`` and ``target/``::

    data/Rain200H/train/input/1.png ...     data/Rain200H/train/target/1.png ...
    data/Rain200H/test/input/1.png ...      data/Rain200H/test/target/1.png ...

Validation runs on the test split, as in the DRSformer release. Scored with the
'restormer' protocol (Y channel, MATLAB rgb2ycbcr). See paired_pipelines.py to change
the patch size or batch size in a method config.
"""
_base_ = ['./paired_loaders.py']

dataset_name = 'Rain200H'
data_root = 'data/Rain200H'
eval_protocol = 'restormer'

train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='train/input', gt='train/target')))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='test/input', gt='test/target')))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
