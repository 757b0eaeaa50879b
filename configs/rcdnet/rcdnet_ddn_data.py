# RCDNet on Rain1400 (= DDN-Data: 12600 training pairs, 1400 test pairs) with the release's
# recipe (hongwang01/RCDNet: the README's command with --data_range 1-12600/1-1400, S = 17,
# batch 16 of 64x64 crops flipped left-right with probability 1/2, MSE on every stage, Adam
# 1e-3, lr x0.2 every 25 of 100 epochs). Epochs -> iterations in _base_/rcdnet.py: 788
# iterations per epoch, 78,800 in all, lr drops after 19,700 / 39,400 / 59,100.
# Scored with the release's MATLAB statistic.m, the 'rcdnet' protocol (the dataset base's).
# Train (needs the release's init_kernel.mat, see _base_/rcdnet.py):
#     python tools/train.py configs/rcdnet/rcdnet_ddn_data.py
# Official weights: python tools/convert_checkpoint.py rcdnet "Pretrained Model/rain1400/model_best.pt" rcdnet_rain1400.pth
_base_ = ['./_base_/rcdnet.py', '../_base_/datasets/ddn_data.py']

train_dataloader = _base_.synthetic_train_loader
param_scheduler = _base_.param_schedulers['ddn_data']
train_cfg = _base_.train_cfgs['ddn_data']
default_hooks = dict(checkpoint=dict(interval=_base_.iters_per_epoch['ddn_data']))
