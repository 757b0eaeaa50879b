"""Rain13K (13,712 training pairs: Rain14000's 11,200 + Rain1800 + Rain800's 700 + Rain12, the
training set MSPFN assembled and MPRNet/Restormer reuse), as the Restormer/MPRNet deraining
download unpacks (``Datasets/train/Rain13K``), same file names in ``input/`` and ``target/``::

    data/Rain13K/input/1.jpg ...     data/Rain13K/target/1.jpg ...

Rain13K has no test split of its own: the models trained on it are tested on Rain100H,
Rain100L, Test100, Test1200 and Test2800. Validation and test here run on Rain100H's test pairs
in the 'numbered' layout (``data/Rain100H/test/{input,target}/1.png``: MSPFN's crops
``model/test/test_data/R100H/{inputcrop,cleancrop}`` or the Restormer download's
``Datasets/test/Rain100H``; see docs/datasets.md), scored with the 'restormer' protocol (Y
channel), as MPRNet and Restormer score them. Point the test loader at another set with
``--cfg-options test_dataloader.dataset.data_root=data/Test100``.
"""
_base_ = ['./paired_loaders.py']

dataset_name = 'Rain100H'  # the metrics' prefix: the set validated and tested on
data_root = 'data/Rain13K'
test_data_root = 'data/Rain100H'
eval_protocol = 'restormer'

train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='input', gt='target')))
test_dataloader = val_dataloader = dict(dataset=dict(
    data_root=test_data_root, data_prefix=dict(img='test/input', gt='test/target')))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
