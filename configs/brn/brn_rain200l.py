# BRN on Rain200L with the recipe csdwren/RecDerain used for its "RainLight" model (train.py with
# --data_path .../RainLight: prepare_data_newrain, 1800 pairs cut into 100x100 patches with stride
# 100, no flips). The recipe and its epochs -> iterations mapping live in _base_/brn.py: 1,800
# iterations per epoch (1800 pairs x 12 patches / batch 12), 180,000 in all, lr steps after
# 54,000 / 90,000 / 144,000.
# Scored with the dataset base's 'restormer' protocol, as the DRSformer paper scores Rain200L;
# the BRN paper scored RainLight with its MATLAB statistic_RainLight.m, the 'rcdnet' protocol: to
# compare with its numbers, add to tools/test.py
#   --cfg-options test_evaluator.0.protocol=rcdnet test_evaluator.1.protocol=rcdnet
# Train: python tools/train.py configs/brn/brn_rain200l.py
# Official weights: python tools/convert_checkpoint.py brn logs/RainLight/BRN/net_latest.pth brn_rain200l.pth
_base_ = ['./_base_/brn.py', '../_base_/datasets/rain200l.py']

train_dataloader = _base_.rain200_train_loader
param_scheduler = _base_.rain200_param_scheduler
train_cfg = _base_.rain200_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain200_iters_per_epoch))
