# BRN on Rain100H with the release's recipe (csdwren/RecDerain, train.py on RainTrainH). The
# recipe and its epochs -> iterations mapping live in _base_/brn.py: 1,254 iterations per
# epoch (1254 pairs x 12 patches / batch 12), 125,400 in all, lr steps after 37,620 / 62,700
# / 100,320; no flips or rotations, as in the release.
# Scored as the paper scored Rain100H: its MATLAB statistic script, the 'rcdnet' protocol.
# Train: python tools/train.py configs/brn/brn_rain100h.py
# Official weights: python tools/convert_checkpoint.py brn logs/Rain100H/BRN/net_latest.pth brn_rain100h.pth
_base_ = ['./_base_/brn.py', '../_base_/datasets/rain100h.py']

train_dataloader = _base_.rain100h_train_loader
param_scheduler = _base_.rain100h_param_scheduler
train_cfg = _base_.rain100h_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain100h_iters_per_epoch))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
