# RCDNet on Rain100L with the release's recipe (hongwang01/RCDNet, README's training command:
# --data_range 1-200/1-100, S = 17, batch 16 of 64x64 crops flipped left-right with
# probability 1/2, MSE on every stage, Adam 1e-3, lr x0.2 every 25 of 100 epochs). Epochs ->
# iterations in _base_/rcdnet.py: 1,038 iterations per epoch, 103,800 in all, lr drops after
# 25,950 / 51,900 / 77,850.
# Scored as the paper scored Rain100L: the release's MATLAB statistic.m, the 'rcdnet' protocol.
# Train (needs the release's init_kernel.mat, see _base_/rcdnet.py):
#     python tools/train.py configs/rcdnet/rcdnet_rain100l.py
# Official weights: python tools/convert_checkpoint.py rcdnet "Pretrained Model/rain100L/model_best.pt" rcdnet_rain100l.pth
_base_ = ['./_base_/rcdnet.py', '../_base_/datasets/rain100l.py']

train_dataloader = _base_.synthetic_train_loader
param_scheduler = _base_.param_schedulers['rain100l']
train_cfg = _base_.train_cfgs['rain100l']
default_hooks = dict(checkpoint=dict(interval=_base_.iters_per_epoch['rain100l']))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
