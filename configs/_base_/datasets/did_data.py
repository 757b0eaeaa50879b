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
_base_ = ['./paired_loaders.py']

dataset_name = 'DID-Data'
data_root = 'data/DID-Data'
eval_protocol = 'rcdnet'

train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='train'), side_by_side='rain_left'))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='test'), side_by_side='rain_left'))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
