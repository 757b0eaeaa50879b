# SPDNet on Rain200L with the release's recipe (Joyies/SPDNet, the README's training command). The
# recipe and its epochs -> iterations mapping live in _base_/spdnet.py: 900 iterations per epoch
# (1800 pairs x 8 repeats / batch 16), 270,000 in all, lr halved after 90,000 / 135,000 /
# 180,000 / 207,000 / 234,000 / 252,000; 128x128 crops flipped left-right with probability 1/2.
# Scored as the SPDNet README says (PReNet's MATLAB statistic, Y channel): the 'rcdnet' protocol.
# Train: python tools/train.py configs/spdnet/spdnet_rain200l.py
# Official weights: python tools/convert_checkpoint.py spdnet model_best.pt spdnet_rain200l.pth --check-config configs/spdnet/spdnet_rain200l.py
_base_ = ['./_base_/spdnet.py', '../_base_/datasets/rain200l.py']

train_dataloader = _base_.spdnet_train_loader
param_scheduler = _base_.rain200_param_scheduler
train_cfg = _base_.rain200_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.rain200_iters_per_epoch))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.spdnet_eval_protocol, prefix=_base_.dataset_name)
    for metric in ('PSNR', 'SSIM')]
