# PReNet (6 stages, conv-LSTM) trained on SPA-Data with the recipe of prenet_rain100h.py
# (csdwren/PReNet, train_PReNet.py): negative SSIM loss, Adam lr 1e-3, MultiStepLR
# milestones [30, 50, 80] gamma 0.2, 100 epochs, batch 18 of 100x100 patches.
# Only the dataset (and with it the evaluation protocol) comes from _base_/datasets/spa_data.py.
# SPA-Data has ~638k training pairs, so each gives one random 100x100 crop per epoch
# (patches_per_image = 1), no flips; 100 epochs are then ~3.5M iterations at batch 18.
# PReNet's release has no SPA-Data recipe; this keeps the Rain100H one.
# Train: python tools/train.py configs/prenet/prenet_spa_data.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spa_data.py',
]

model = dict(
    type='ImageRestorer',
    arch=dict(type='PReNet', recurrent_iter=6),
    pixel_loss=dict(type='SSIMLoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

train_patch_size = 100
train_batch_size = 18
max_epochs = 100
patches_per_image = 1
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
            ann_file='real_world.txt',
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
