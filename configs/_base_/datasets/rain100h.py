"""Rain100H (JORDER's heavy-rain set: 1800 training pairs, RainTrainH, and 100 test pairs)
in one of two copies, picked with ``layout`` (one option, no second config)::

    layout='jorder' (the original release; the default):
        data/Rain100H/train/rain/rain-1.png ...      data/Rain100H/train/norain/norain-1.png ...
        data/Rain100H/test/rain/rain-001.png ...     data/Rain100H/test/norain/norain-001.png ...
    layout='numbered' (the input/target copies with 1.png names that most repositories ship):
        data/Rain100H/train/input/1.png ...          data/Rain100H/train/target/1.png ...
        data/Rain100H/test/input/1.png ...           data/Rain100H/test/target/1.png ...

e.g. ``tools/test.py CONFIG CKPT --cfg-options test_dataloader.dataset.layout=numbered``
(``train_dataloader.dataset.layout`` for the training set). PReNet's copy keeps both sides in
one folder (``RainTrainH/rain-1.png``, ``norain-1.png``): point both data_prefix entries
of the 'jorder' layout at that folder; the template separates the two sides.
docs/datasets.md says where each copy comes from.

Protocol: 'restormer' here, as Restormer and DRSformer score Rain100L/H. The PReNet, BRN and
AIDNet papers scored Rain100L/H with their MATLAB statistic scripts ('rcdnet' protocol in
restorelab); their configs (configs/prenet, configs/brn, configs/aidnet) set that protocol.
See paired_pipelines.py to change the patch size.
"""
_base_ = ['./paired_loaders.py']

dataset_name = 'Rain100H'
data_root = 'data/Rain100H'
eval_protocol = 'restormer'
filename_tmpl = dict(img='rain-{}', gt='norain-{}')
train_layouts = dict(
    jorder=dict(data_prefix=dict(img='train/rain', gt='train/norain'), filename_tmpl=filename_tmpl),
    numbered=dict(data_prefix=dict(img='train/input', gt='train/target')))
test_layouts = dict(
    jorder=dict(data_prefix=dict(img='test/rain', gt='test/norain'), filename_tmpl=filename_tmpl),
    numbered=dict(data_prefix=dict(img='test/input', gt='test/target')))

train_dataloader = dict(dataset=dict(data_root=data_root, layouts=train_layouts, layout='jorder'))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root, layouts=test_layouts, layout='jorder'))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
# How the PReNet, BRN and AIDNet papers scored this set (their statistic_rain100*.m): their
# configs take it as val_evaluator and test_evaluator.
rcdnet_evaluator = [dict(type=metric, protocol='rcdnet', prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
