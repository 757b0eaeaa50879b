# The PReNet recipe shared by configs/prenet/prenet_<set>.py (and through them the PReNet_r, PRN
# and PRN_r configs), without a dataset: each of those lists this file and a dataset base, sets
# `patches_per_image` and wraps the set's training dataset in prenet_train_loader.
# PReNet (6 stages, conv-LSTM) with the release's recipe (csdwren/PReNet, train_PReNet.py /
# train_PReNet.sh): negative SSIM loss, Adam lr 1e-3, MultiStepLR milestones [30, 50, 80]
# gamma 0.2, 100 epochs, batch 18 of 100x100 patches.
#
# The release pre-cuts every training image into 100x100 patches with stride 80 (15 per
# 481x321 image) and trains on that fixed set without flips or rotations. Here each image
# gives `patches_per_image` random 100x100 crops per epoch (RepeatDataset), the same number
# of patches per epoch, none of them fixed.
_base_ = ['../../_base_/epoch_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='PReNet', recurrent_iter=6),
    pixel_loss=dict(type='SSIMLoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 100
batch_size = 18
max_epochs = 100
# The two loading steps are those of _base_/datasets/paired_pipelines.py; no flips.
crop_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', patch_size=patch_size),
]
prenet_train_pipeline = [*crop_pipeline, dict(type='PackInputs')]
# The training loader's settings; each prenet_<set>.py adds the repeated dataset:
#   dataset=dict(_delete_=True, type='RepeatDataset', times=patches_per_image, dataset=...)
prenet_train_loader = dict(batch_size=batch_size, sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
# The release calls scheduler.step(epoch) at the start of each epoch:
# lr = 1e-3 * 0.2 ** (number of milestones <= epoch), epochs counted from 0.
param_scheduler = [
    dict(type='MultiStepLR', milestones=[30, 50, 80], gamma=0.2, by_epoch=True),
]
# Logs and checkpoints by epoch: _base_/epoch_runtime.py.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
