# AIDNet with the squeeze-and-excitation attention of the released Rain100L model (SE,
# reduction 2; the release ships no code for it, see restorelab/models/archs/aidnet.py) on
# Rain100L with the release's recipe (cuiyixin555/AIDNet, trainL_aid135.py = BRN's train.py
# with AIDNet), see _base_/aidnet.py; epochs -> iterations as for BRN
# (configs/brn/_base_/brn.py): 400 iterations per epoch, 40,000 in all, lr steps after
# 12,000 / 20,000 / 32,000; crops flipped left-right with probability 1/2.
# Scored as the paper scored Rain100L: its MATLAB statistic script, the 'rcdnet' protocol.
# Train: python tools/train.py configs/aidnet/aidnet_rain100l.py
# Official weights: python tools/convert_checkpoint.py aidnet logs/Rain100L/AID_location135/net_latest.pth aidnet_rain100l.pth --check-config configs/aidnet/aidnet_rain100l.py
_base_ = ['./_base_/aidnet.py', '../_base_/datasets/rain100l.py']

model = dict(arch=dict(attention='se', reduction=2))

train_dataloader = _base_.rain100l_train_loader
param_scheduler = _base_.rain100l_param_scheduler
train_cfg = _base_.rain100l_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain100l_iters_per_epoch))
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
