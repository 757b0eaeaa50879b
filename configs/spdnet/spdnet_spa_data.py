# SPDNet on SPA-Data with the release's recipe (Joyies/SPDNet, the README's training command). The
# recipe and its epochs -> iterations mapping live in _base_/spdnet.py: 39,906 iterations per
# epoch (one pass over 638,492 pairs / batch 16: the release's repeat rule gives 0 repeats,
# an empty epoch, for a set this large), 11,971,800 in all, lr halved after 100 / 150 / 200 /
# 230 / 260 / 280 epochs of that length; 128x128 crops flipped left-right with probability 1/2.
# How the authors trained on SPA-Data is not in the release: shorten with --cfg-options.
# Scored as the SPDNet README says (PReNet's MATLAB statistic, Y channel): the 'rcdnet' protocol.
# Train: python tools/train.py configs/spdnet/spdnet_spa_data.py
# Official weights: python tools/convert_checkpoint.py spdnet model_best.pt spdnet_spa_data.pth --check-config configs/spdnet/spdnet_spa_data.py
_base_ = ['./_base_/spdnet.py', '../_base_/datasets/spa_data.py']

train_dataloader = _base_.spdnet_train_loader
param_scheduler = _base_.spa_data_param_scheduler
train_cfg = _base_.spa_data_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.spa_data_iters_per_epoch))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.spdnet_eval_protocol, prefix=_base_.dataset_name)
    for metric in ('PSNR', 'SSIM')]
