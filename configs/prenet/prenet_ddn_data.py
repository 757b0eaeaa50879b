# PReNet trained on DDN-Data with the recipe in _base_/prenet.py (csdwren/PReNet, train_PReNet.py).
# DDN-Data's (Rain12600's) images differ in size, so the stride-80 patch count is not a constant
# per image: here each of the 12600 rainy images gives one random 100x100 crop per epoch, no
# flips -- fewer patches per epoch than the release's fixed cut; raise patches_per_image to match.
# Train: python tools/train.py configs/prenet/prenet_ddn_data.py
_base_ = ['./_base_/prenet.py', '../_base_/datasets/ddn_data.py']

patches_per_image = 1
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
