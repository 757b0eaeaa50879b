# PReNet (6 stages, conv-LSTM) on Rain100H with the release's recipe (csdwren/PReNet,
# train_PReNet.py / train_PReNet.sh): negative SSIM loss, Adam lr 1e-3, MultiStepLR
# milestones [30, 50, 80] gamma 0.2, 100 epochs, batch 18 of 100x100 patches.
# Train: python tools/train.py configs/prenet/prenet_rain100h.py
# Official weights: python tools/convert_checkpoint.py prenet logs/Rain100H/PReNet6/net_latest.pth prenet_rain100h.pth
#
# The release pre-cuts every RainTrainH image into 100x100 patches with stride 80 (15 per
# 481x321 image, 1254 pairs after its 546 deletions) and trains on that fixed set without
# flips or rotations. Here each image gives `patches_per_image` random 100x100 crops per
# epoch (RepeatDataset), the same number of patches per epoch, none of them fixed.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/rain100h.py',
]

model = dict(
    type='ImageRestorer',
    arch=dict(type='PReNet', recurrent_iter=6),
    pixel_loss=dict(type='SSIMLoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

train_patch_size = 100
train_batch_size = 18
max_epochs = 100
patches_per_image = 15
train_pipeline = [
    *_base_.load_pair_pipeline,
    dict(type='PairedRandomCrop', patch_size=train_patch_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=patches_per_image,
        dataset=dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            layouts=_base_.train_layouts,
            layout='jorder',
            pipeline=train_pipeline)))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
# The release calls scheduler.step(epoch) at the start of each epoch:
# lr = 1e-3 * 0.2 ** (number of milestones <= epoch), epochs counted from 0.
param_scheduler = [
    dict(type='MultiStepLR', milestones=[30, 50, 80], gamma=0.2, by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# The runtime is iteration-based: switch logging and checkpoints to epochs.
default_hooks = dict(
    checkpoint=dict(interval=1, by_epoch=True),
    logger=dict(log_metric_by_epoch=True))
log_processor = dict(by_epoch=True)
# Scored as the paper scored Rain100H: its MATLAB statistic script, the 'rcdnet' protocol.
val_evaluator = _base_.rcdnet_evaluator
test_evaluator = _base_.rcdnet_evaluator
