"""DID-Data (DID-MDN, Zhang and Patel, CVPR 2018: 12000 training images at three rain
densities, 1200 test images) as its original archive ships it: each JPEG holds the rainy
image in its left half and the clean one in its right half (``side_by_side='rain_left'``;
``LoadImageFromFile`` cuts the halves)::

    data/DID-Data/train/Rain_Heavy/train2018new/0.jpg ...   (the three density folders of
    data/DID-Data/train/Rain_Medium/train2018new/0.jpg ...   DID-MDN-training, 4000 each;
    data/DID-Data/train/Rain_Light/train2018new/0.jpg ...    scanned recursively)
    data/DID-Data/test/0.jpg ...                             (DID-MDN-test, 1200)

Keys keep the sub-folder (``Rain_Heavy/train2018new/0``), so equal file names in the
density folders stay distinct. A copy already split into same-name ``input/``/``target/``
folders (DRSformer's download) works by overriding in a method config, e.g.
``test_dataloader = dict(dataset=dict(side_by_side=None, data_prefix=dict(img='test/input',
gt='test/target')))``. Scored with the 'rcdnet' protocol. See paired_pipelines.py to
change the patch size.
"""
_base_ = ['./paired_pipelines.py']

dataset_type = 'PairedImageDataset'
dataset_name = 'DID-Data'
data_root = 'data/DID-Data'
eval_protocol = 'rcdnet'

train_dataloader = dict(
    batch_size=_base_.train_batch_size,
    num_workers=_base_.train_num_workers,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='train'),
        side_by_side='rain_left',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=_base_.val_num_workers,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='test'),
        side_by_side='rain_left',
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PSNR', protocol=eval_protocol, prefix=dataset_name),
    dict(type='SSIM', protocol=eval_protocol, prefix=dataset_name),
]
test_evaluator = val_evaluator
