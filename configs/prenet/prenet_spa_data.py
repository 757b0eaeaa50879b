# PReNet trained on SPA-Data with the recipe in _base_/prenet.py (csdwren/PReNet, train_PReNet.py);
# the release has no SPA-Data recipe. SPA-Data has ~638k training pairs, so each gives one random
# 100x100 crop per epoch, no flips; 100 epochs are then ~3.5M iterations at batch 18.
# Train: python tools/train.py configs/prenet/prenet_spa_data.py
_base_ = ['./_base_/prenet.py', '../_base_/datasets/spa_data.py']

patches_per_image = 1
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
