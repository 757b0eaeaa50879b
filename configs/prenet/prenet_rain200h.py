# PReNet trained on Rain200H with the recipe in _base_/prenet.py (csdwren/PReNet, train_PReNet.py).
# Rain200H's 1800 training pairs are RainTrainH's 481x321 images, so each pair gives 15 random
# 100x100 crops per epoch (the count the release's stride-80 cut gives), no flips.
# Train: python tools/train.py configs/prenet/prenet_rain200h.py
_base_ = ['./_base_/prenet.py', '../_base_/datasets/rain200h.py']

patches_per_image = 15
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
