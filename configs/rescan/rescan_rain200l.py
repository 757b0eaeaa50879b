# RESCAN trained on Rain200L (1800 pairs) with the release's recipe (_base_/rescan.py):
# 20,000 iterations of batch 64 of 64x64 crops, sum of the 4 stages' MSE, Adam 5e-3, lr x0.1
# at iterations 14,999 and 17,499. csdwren/RecDerain trained its RainLight ("Rain200L") model
# so and scored it with its MATLAB statistic_RainLight.m, restorelab's 'rcdnet' protocol, which
# this config's evaluator uses (the dataset base's default is 'restormer', as the DRSformer
# paper scores Rain200L).
# Train: python tools/train.py configs/rescan/rescan_rain200l.py
# RecDerain's weights: python tools/convert_checkpoint.py rescan logs/RainLight/RESCAN/latest rescan_rain200l.pth
_base_ = ['./_base_/rescan.py', '../_base_/datasets/rain200l.py']

train_dataloader = _base_.rescan_train_loader
test_evaluator = val_evaluator = [
    dict(type=metric, protocol='rcdnet', prefix=_base_.dataset_name) for metric in ('PSNR', 'SSIM')]
