# RESCAN trained on Rain200H (1800 pairs) with the release's recipe (_base_/rescan.py):
# 20,000 iterations of batch 64 of 64x64 crops, sum of the 4 stages' MSE, Adam 5e-3, lr x0.1
# at iterations 14,999 and 17,499. csdwren/RecDerain trained its RainHeavy ("Rain200H") model
# so. Scored with the dataset base's 'restormer' protocol, as the DRSformer paper scores
# Rain200H; RecDerain scored with its MATLAB statistic_RainHeavy.m, the 'rcdnet' protocol: to
# compare with its numbers, add to tools/test.py
#   --cfg-options test_evaluator.0.protocol=rcdnet test_evaluator.1.protocol=rcdnet
# Train: python tools/train.py configs/rescan/rescan_rain200h.py
# RecDerain's weights: python tools/convert_checkpoint.py rescan logs/RainHeavy/RESCAN/latest rescan_rain200h.pth
_base_ = ['./_base_/rescan.py', '../_base_/datasets/rain200h.py']

train_dataloader = _base_.rescan_train_loader
