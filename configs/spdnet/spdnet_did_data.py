# SPDNet on DID-Data (the paper's Rain1200) with the release's recipe (Joyies/SPDNet, the README's training command). The
# recipe and its epochs -> iterations mapping live in _base_/spdnet.py: 750 iterations per
# epoch (12,000 pairs / batch 16), 225,000 in all, lr halved after 75,000 / 112,500 / 150,000 /
# 172,500 / 195,000 / 210,000; 128x128 crops flipped left-right with probability 1/2.
# Scored as the SPDNet README says (PReNet's MATLAB statistic, Y channel): the 'rcdnet' protocol.
# Train: python tools/train.py configs/spdnet/spdnet_did_data.py
# Official weights: python tools/convert_checkpoint.py spdnet model_best.pt spdnet_did_data.pth --check-config configs/spdnet/spdnet_did_data.py
_base_ = ['./_base_/spdnet.py', '../_base_/datasets/did_data.py']

train_dataloader = _base_.spdnet_train_loader
param_scheduler = _base_.did_data_param_scheduler
train_cfg = _base_.did_data_train_cfg
default_hooks = dict(checkpoint=dict(interval=_base_.did_data_iters_per_epoch))
test_evaluator = val_evaluator = [
    dict(type=metric, protocol=_base_.spdnet_eval_protocol, prefix=_base_.dataset_name)
    for metric in ('PSNR', 'SSIM')]
