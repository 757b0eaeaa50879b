"""SPA-Data (Wang et al., CVPR 2019: real rain, ~638k training pairs, 1000 test pairs) with
the pair lists its archives ship, one ``rain_path gt_path`` line per pair, resolved against
``data_root`` (a leading ``/`` or ``./`` too: the test list writes
``/real_test_1000/rain/...``)::

    data/SPA-Data/real_world.txt          data/SPA-Data/real_world/000/000-0/...png
    data/SPA-Data/real_world_gt/...       (whatever real_world.txt names)
    data/SPA-Data/real_test_1000.txt      data/SPA-Data/real_test_1000/...

A copy already split into same-name ``input/``/``target/`` folders (DRSformer's download)
works by overriding in a method config, e.g. ``test_dataloader = dict(dataset=dict(
ann_file='', data_prefix=dict(img='test/input', gt='test/target')))``. Scored with the
'restormer' protocol. See paired_pipelines.py to change the patch size.
"""
_base_ = ['./paired_pipelines.py']

dataset_type = 'PairedImageDataset'
dataset_name = 'SPA-Data'
data_root = 'data/SPA-Data'
eval_protocol = 'restormer'

train_dataloader = dict(
    batch_size=_base_.train_batch_size,
    num_workers=_base_.train_num_workers,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='real_world.txt',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=_base_.val_num_workers,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='real_test_1000.txt',
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PSNR', protocol=eval_protocol, prefix=dataset_name),
    dict(type='SSIM', protocol=eval_protocol, prefix=dataset_name),
]
test_evaluator = val_evaluator
