# PReNet on Rain100H (RainTrainH) with the release's recipe, which lives in _base_/prenet.py (loss,
# optimizer, schedule, crops, differences from the release). Each image gives the 15 random 100x100
# crops per epoch that the release's stride-80 cut gives a 481x321 image (1254 pairs after its
# 546 deletions), no flips.
# Train: python tools/train.py configs/prenet/prenet_rain100h.py
# Official weights: python tools/convert_checkpoint.py prenet logs/Rain100H/PReNet6/net_latest.pth prenet_rain100h.pth
_base_ = ['./_base_/prenet.py', '../_base_/datasets/rain100h.py']

patches_per_image = 15
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
# Scored as the paper scored Rain100H: its MATLAB statistic script, the 'rcdnet' protocol.
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
