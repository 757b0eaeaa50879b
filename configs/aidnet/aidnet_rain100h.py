# AIDNet (CBAM attention, reduction 16: the released Rain100H model) on Rain100H with the
# release's recipe (cuiyixin555/AIDNet, trainH_aid135.py = BRN's train.py with AIDNet), see
# _base_/aidnet.py; epochs -> iterations as for BRN (configs/brn/_base_/brn.py): 1,254
# iterations per epoch, 125,400 in all, lr steps after 37,620 / 62,700 / 100,320. The
# released file agrees: its batch norm counts 3,009,600 batches = 125,400 iterations x 24
# attention calls (3 per stage, 8 stages).
# Scored as the paper scored Rain100H: its MATLAB statistic script, the 'rcdnet' protocol.
# Train: python tools/train.py configs/aidnet/aidnet_rain100h.py
# Official weights: python tools/convert_checkpoint.py aidnet logs/Rain100H/AID_location135/net_latest.pth aidnet_rain100h.pth
_base_ = ['./_base_/aidnet.py', '../_base_/datasets/rain100h.py']

train_dataloader = _base_.rain100h_train_loader
param_scheduler = _base_.rain100h_param_scheduler
train_cfg = _base_.rain100h_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain100h_iters_per_epoch))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
