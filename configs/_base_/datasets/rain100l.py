"""Rain100L (JORDER's light-rain set: 200 training pairs, RainTrainL, and 100 test pairs):
rain100h.py's two copies (``layout='jorder'``, the default, or ``'numbered'``), protocol and
loaders with the files under ``data/Rain100L/`` (PReNet's copy: ``RainTrainL/``)."""
_base_ = ['./rain100h.py']  # the same layouts in another folder

dataset_name = 'Rain100L'
data_root = 'data/Rain100L'

train_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
rcdnet_evaluator = [dict(type=metric, protocol='rcdnet', prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
