"""DDN-Data (Rain1400 / Rain14000 of Fu et al., CVPR 2017): 14 rainy renderings of each clean
image, ``rainy_image/<id>_<1..14>.jpg`` -> ``ground_truth/<id>.jpg``, paired by the template
``'{}_*'`` -> ``'{}'``, as the archive unpacks::

    data/DDN-Data/training/rainy_image/1_1.jpg ... 900_14.jpg     (12600)
    data/DDN-Data/training/ground_truth/1.jpg ... 900.jpg         (900)
    data/DDN-Data/testing/rainy_image/901_1.jpg ... 1000_14.jpg   (1400)
    data/DDN-Data/testing/ground_truth/901.jpg ... 1000.jpg       (100)

A copy already split into same-name ``input/``/``target/`` folders (DRSformer's download)
works by overriding in a method config, e.g.
``test_dataloader = dict(dataset=dict(filename_tmpl=None, data_prefix=dict(img='test/input',
gt='test/target')))``. Scored with the 'rcdnet' protocol. See paired_pipelines.py to
change the patch size.
"""
_base_ = ['./paired_loaders.py']

dataset_name = 'DDN-Data'
data_root = 'data/DDN-Data'
eval_protocol = 'rcdnet'
filename_tmpl = dict(img='{}_*', gt='{}')

train_dataloader = dict(dataset=dict(
    data_root=data_root, filename_tmpl=filename_tmpl,
    data_prefix=dict(img='training/rainy_image', gt='training/ground_truth')))
test_dataloader = val_dataloader = dict(dataset=dict(
    data_root=data_root, filename_tmpl=filename_tmpl,
    data_prefix=dict(img='testing/rainy_image', gt='testing/ground_truth')))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
