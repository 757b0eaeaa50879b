# SPDNet on DDN-Data with the release's recipe (Joyies/SPDNet, the README's training command). The
# recipe and its epochs -> iterations mapping live in _base_/spdnet.py: 788 iterations per epoch
# (12,600 pairs / batch 16, the last batch partial), 236,400 in all, lr halved after 78,800 /
# 118,200 / 157,600 / 181,240 / 204,880 / 220,640; 128x128 crops flipped left-right with
# probability 1/2.
# Scored as the SPDNet README says (PReNet's MATLAB statistic, Y channel): the 'rcdnet' protocol.
# The SPDNet paper and release do not train on DDN-Data (the DRSformer paper's Table 1 has
# SPDNet on it, retrained by its authors): this config applies the release's recipe to it.
# Train: python tools/train.py configs/spdnet/spdnet_ddn_data.py
# Official weights: python tools/convert_checkpoint.py spdnet model_best.pt spdnet_ddn_data.pth --check-config configs/spdnet/spdnet_ddn_data.py
_base_ = ['./_base_/spdnet.py', '../_base_/datasets/ddn_data.py']

train_dataloader = _base_.spdnet_train_loader
param_scheduler = _base_.ddn_data_param_scheduler
train_cfg = _base_.ddn_data_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.ddn_data_iters_per_epoch))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.spdnet_eval_protocol, prefix=_base_.dataset_name)
    for metric in ('PSNR', 'SSIM')]
