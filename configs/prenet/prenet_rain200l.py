# PReNet trained on Rain200L with the recipe in _base_/prenet.py (csdwren/PReNet, train_PReNet.py).
# Rain200L's 1800 training pairs are 481x321 like RainTrainH, so each pair gives the 15 random
# 100x100 crops per epoch that the release's stride-80 cut gives such an image (no flips:
# RainTrainL's flipped copies made up for its 200 pairs).
# Train: python tools/train.py configs/prenet/prenet_rain200l.py
_base_ = ['./_base_/prenet.py', '../_base_/datasets/rain200l.py']

patches_per_image = 15
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
