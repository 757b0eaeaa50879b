# BRN on Rain100L with the release's recipe (csdwren/RecDerain, train.py on RainTrainL). The
# recipe and its epochs -> iterations mapping live in _base_/brn.py: 400 iterations per epoch
# (200 pairs x 2 (as is, flipped) x 12 patches / batch 12), 40,000 in all, lr steps after
# 12,000 / 20,000 / 32,000; crops flipped left-right with probability 1/2.
# Scored as the paper scored Rain100L: its MATLAB statistic script, the 'rcdnet' protocol.
# Train: python tools/train.py configs/brn/brn_rain100l.py
# Official weights: python tools/convert_checkpoint.py brn logs/Rain100L/BRN/net_latest.pth brn_rain100l.pth
_base_ = ['./_base_/brn.py', '../_base_/datasets/rain100l.py']

train_dataloader = _base_.rain100l_train_loader
param_scheduler = _base_.rain100l_param_scheduler
train_cfg = _base_.rain100l_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain100l_iters_per_epoch))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
