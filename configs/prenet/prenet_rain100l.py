# PReNet on Rain100L (RainTrainL) with the release's recipe, which lives in _base_/prenet.py. The
# release cuts each of the 200 RainTrainL pairs twice, as is and flipped left-right (15 patches
# per 481x321 image, 30 per pair): here each pair gives 30 random 100x100 crops per epoch, each
# flipped left-right with probability 1/2 (the same share of flipped patches, none fixed).
# Train: python tools/train.py configs/prenet/prenet_rain100l.py
# Official weights: python tools/convert_checkpoint.py prenet logs/Rain100L/PReNet6/net_latest.pth prenet_rain100l.pth
_base_ = ['./_base_/prenet.py', '../_base_/datasets/rain100l.py']

patches_per_image = 30
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=[
        *_base_.crop_pipeline,
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ])))
# Scored as the paper scored Rain100L: its MATLAB statistic script, the 'rcdnet' protocol.
test_evaluator = val_evaluator = _base_.rcdnet_evaluator
