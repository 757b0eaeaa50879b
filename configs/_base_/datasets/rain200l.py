"""Rain200L (synthetic light rain; 1800 training and 200 test pairs): rain200h.py's layout,
protocol and loaders with the files under ``data/Rain200L/{train,test}/{input,target}/``."""
_base_ = ['./rain200h.py']  # the same layout in another folder

dataset_name = 'Rain200L'
data_root = 'data/Rain200L'

train_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader = dict(dataset=dict(data_root=data_root))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.eval_protocol, prefix=dataset_name) for metric in ('PSNR', 'SSIM')]
