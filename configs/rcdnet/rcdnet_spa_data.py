# RCDNet on SPA-Data with the release's recipe (hongwang01/RCDNet, RCDNet_code/for_spa: the
# README's command, S = 17, batch 16 of 64x64 crops (no flips), MSE on every stage, Adam 1e-3,
# lr x0.2 every 25 of 100 epochs of 1,500 batches): 150,000 iterations, lr drops after
# 37,500 / 75,000 / 112,500.
# Scored as the paper scored SPA-Data: the release's MATLAB statistic.m, the 'rcdnet' protocol
# (the dataset base scores with 'restormer', as DRSformer's Table 1 does).
# Train (needs the release's init_kernel.mat, see _base_/rcdnet.py):
#     python tools/train.py configs/rcdnet/rcdnet_spa_data.py
# Official weights: python tools/convert_checkpoint.py rcdnet "Pretrained Model/SPA-Data/model_best.pt" rcdnet_spa_data.pth
_base_ = ['./_base_/rcdnet.py', '../_base_/datasets/spa_data.py']

train_dataloader = _base_.spa_train_loader
param_scheduler = _base_.param_schedulers['spa_data']
train_cfg = _base_.train_cfgs['spa_data']
default_hooks = dict(checkpoint=dict(interval=_base_.iters_per_epoch['spa_data']))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol='rcdnet', prefix=_base_.dataset_name) for metric in ('PSNR', 'SSIM')]
