# RCDNet on Rain100H with the release's recipe (hongwang01/RCDNet: the README's command with
# --data_range 1-1800/1-100, i.e. all 1800 pairs of RainTrainH, S = 17, batch 16 of 64x64 crops
# flipped left-right with probability 1/2, MSE on every stage, Adam 1e-3, lr x0.2 every 25 of
# 100 epochs). Epochs -> iterations in _base_/rcdnet.py: 900 iterations per epoch, 90,000 in
# all, lr drops after 22,500 / 45,000 / 67,500.
# Scored as the paper scored Rain100H: the release's MATLAB statistic.m, the 'rcdnet' protocol.
# Train (needs the release's init_kernel.mat, see _base_/rcdnet.py):
#     python tools/train.py configs/rcdnet/rcdnet_rain100h.py
# Official weights: python tools/convert_checkpoint.py rcdnet "Pretrained Model/rain100H/model_best.pt" rcdnet_rain100h.pth
_base_ = ['./_base_/rcdnet.py', '../_base_/datasets/rain100h.py']

train_dataloader = _base_.synthetic_train_loader
param_scheduler = _base_.param_schedulers['rain100h']
train_cfg = _base_.train_cfgs['rain100h']
default_hooks = dict(checkpoint=dict(interval=_base_.iters_per_epoch['rain100h']))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
