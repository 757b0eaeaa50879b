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
_base_ = ['./paired_loaders.py']

dataset_name = 'SPA-Data'
data_root = 'data/SPA-Data'
eval_protocol = 'restormer'

train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='real_world.txt'))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root, ann_file='real_test_1000.txt'))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
