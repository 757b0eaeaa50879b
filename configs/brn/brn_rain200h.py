# BRN on Rain200H with the recipe csdwren/RecDerain used for its "RainHeavy" model (train.py with
# --data_path .../RainHeavy: prepare_data_newrain, 1800 pairs cut into 100x100 patches with stride
# 100, no flips). The recipe and its epochs -> iterations mapping live in _base_/brn.py: 1,800
# iterations per epoch (1800 pairs x 12 patches / batch 12), 180,000 in all, lr steps after
# 54,000 / 90,000 / 144,000.
# Scored with the dataset base's 'restormer' protocol, as the DRSformer paper scores Rain200H;
# the BRN paper scored RainHeavy with its MATLAB statistic_RainHeavy.m, the 'rcdnet' protocol: to
# compare with its numbers, add to tools/test.py
#   --cfg-options test_evaluator.0.protocol=rcdnet test_evaluator.1.protocol=rcdnet
# Train: python tools/train.py configs/brn/brn_rain200h.py
# Official weights: python tools/convert_checkpoint.py brn logs/RainHeavy/BRN/net_latest.pth brn_rain200h.pth
_base_ = ['./_base_/brn.py', '../_base_/datasets/rain200h.py']

train_dataloader = _base_.rain200_train_loader
param_scheduler = _base_.rain200_param_scheduler
train_cfg = _base_.rain200_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain200_iters_per_epoch))
