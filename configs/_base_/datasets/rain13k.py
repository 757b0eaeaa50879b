"""Rain13K: the deraining training set of MSPFN, MPRNet and Restormer (13,712 synthetic pairs from
Rain14000, Rain1800, Rain800 and Rain12), with the five test sets those releases ship beside it::

    data/Rain13K/train/input/<name> ...           data/Rain13K/train/target/<name> ...
    data/Rain13K/test/<set>/input/<name> ...      data/Rain13K/test/<set>/target/<name> ...

<set>: Rain100H, Rain100L, Test100, Test1200, Test2800 (the folders of MPRNet's
Deraining/Datasets/README.md; Restormer's download script puts the training pairs under
train/Rain13K/: set the train data_prefix to that). A rainy image and its ground truth have the
same file name.

Validation and test run on the test set ``test_set``: Rain100L, on which the MPRNet release
validates. Another set, e.g. Rain100H, with
``--cfg-options test_dataloader.dataset.data_prefix.img=test/Rain100H/input
test_dataloader.dataset.data_prefix.gt=test/Rain100H/target test_evaluator.0.prefix=Rain100H
test_evaluator.1.prefix=Rain100H``. Scored with the 'restormer' protocol, the
evaluate_PSNR_SSIM.m of the MPRNet and Restormer releases. See paired_pipelines.py to change
the patch size.
"""
_base_ = ['./paired_loaders.py']

dataset_name = 'Rain13K'
data_root = 'data/Rain13K'
eval_protocol = 'restormer'
test_sets = ('Rain100H', 'Rain100L', 'Test100', 'Test1200', 'Test2800')
test_set = 'Rain100L'

train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='train/input', gt='train/target')))
test_dataloader = val_dataloader = dict(dataset=dict(
    data_root=data_root, data_prefix=dict(img=f'test/{test_set}/input', gt=f'test/{test_set}/target')))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=test_set) for metric in ('PSNR', 'SSIM')]
