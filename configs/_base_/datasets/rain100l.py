"""Rain100L (JORDER's light-rain set: 200 training pairs, RainTrainL, and 100 test pairs)
in folders ``rain/`` and ``norain/`` paired by the file-name template
``rain-{}`` -> ``norain-{}``::

    data/Rain100L/train/rain/rain-1.png ...     data/Rain100L/train/norain/norain-1.png ...
    data/Rain100L/test/rain/rain-001.png ...    data/Rain100L/test/norain/norain-001.png ...

PReNet's copy keeps both sides in one folder (``RainTrainL/rain-1.png``, ``norain-1.png``):
set both data_prefix entries to that folder; the template separates the two sides.
Scored with the 'restormer' protocol. See paired_pipelines.py to change the patch size.
"""
_base_ = ['./paired_pipelines.py']

dataset_type = 'PairedImageDataset'
dataset_name = 'Rain100L'
data_root = 'data/Rain100L'
eval_protocol = 'restormer'
filename_tmpl = dict(img='rain-{}', gt='norain-{}')

train_dataloader = dict(
    batch_size=_base_.train_batch_size,
    num_workers=_base_.train_num_workers,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='train/rain', gt='train/norain'),
        filename_tmpl=filename_tmpl,
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=_base_.val_num_workers,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='test/rain', gt='test/norain'),
        filename_tmpl=filename_tmpl,
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PSNR', protocol=eval_protocol, prefix=dataset_name),
    dict(type='SSIM', protocol=eval_protocol, prefix=dataset_name),
]
test_evaluator = val_evaluator
