# PReNet trained on DID-Data with the recipe in _base_/prenet.py (csdwren/PReNet, train_PReNet.py).
# DID-Data's halves are 512x512, which the release's stride-80 cut turns into 6x6 = 36 patches:
# each of the 12000 pairs gives 36 random 100x100 crops per epoch, no flips (~2.4M iterations
# over the 100 epochs).
# Train: python tools/train.py configs/prenet/prenet_did_data.py
_base_ = ['./_base_/prenet.py', '../_base_/datasets/did_data.py']

patches_per_image = 36
train_dataloader = dict(**_base_.prenet_train_loader, dataset=dict(
    _delete_=True, type='RepeatDataset', times=patches_per_image,
    dataset=dict(_base_.train_dataloader.dataset, pipeline=_base_.prenet_train_pipeline)))
