# The IDT recipe shared by configs/idt/idt_<set>.py, without a dataset: each of those lists
# this file and a dataset base and merges idt_train_loader into the training loader.
# IDT with the release's recipe (jiexiaou/IDT, train_derain.py): negative SSIM
# loss (11x11 Gaussian window, as PReNet's), Adam lr 1e-4, betas (0.9, 0.999), MultiStepLR
# milestones [100, 250, 350] gamma 0.1 stepped per epoch, 400 epochs, batch 4 of 128x128
# random crops, one crop per image per epoch, flipped up-down or left-right with
# probability 1/4 each (no rotations).
#
# Testing follows the release's test_full_size.py: 128x128 tiles (IDT's training size)
# overlapping by 20 pixels. Differences: here the image is first reflect-padded to a
# multiple of 128 and overlaps are cross-faded linearly (ImageRestorer's tiling); the
# release tiles the unpadded image, its last tile flush with the border, and weights each
# tile's pixels by 1 / distance to the tile centre. The release validates nothing during
# training; here every `val_interval` epochs.
_base_ = ['../../_base_/epoch_runtime.py']

img_size = 128  # the release's crop_size and IDT's img_size
model = dict(
    type='ImageRestorer',
    arch=dict(
        type='IDT',
        img_size=img_size,
        in_chans=3,
        embed_dim=32,
        depths=[3, 3, 2, 2, 1, 1, 2, 2, 3],
        num_heads=[1, 2, 4, 8, 16, 16, 8, 4, 2],
        win_size=8,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_path_rate=0.1),
    pixel_loss=dict(type='SSIMLoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'),
    test_cfg=dict(tile=img_size, tile_overlap=20))

total_batch_size = 4
max_epochs = 400
val_interval = 10  # epochs; the release saves a checkpoint every 10 epochs

# random.randint(0, 3): 1 -> flip up-down, 2 -> flip left-right, 0 and 3 -> unchanged.
flip_pipeline = [
    dict(type='RandomChoice',
         transforms=[[],
                     [dict(type='PairedRandomFlip', prob=1.0, direction='vertical')],
                     [dict(type='PairedRandomFlip', prob=1.0, direction='horizontal')]],
         prob=[0.5, 0.25, 0.25]),
]
# The training loader's settings, merged into the dataset base's train_dataloader by each
# idt_<set>.py (the pipeline list replaces the dataset's default one). The two loading steps
# are those of _base_/datasets/paired_pipelines.py.
idt_train_loader = dict(
    batch_size=total_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=img_size),
        *flip_pipeline,
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
# The release calls scheduler.step() after each epoch: lr = 1e-4 * 0.1 ** (number of
# milestones <= epoch), epochs counted from 0.
param_scheduler = [
    dict(type='MultiStepLR', milestones=[100, 250, 350], gamma=0.1, by_epoch=True),
]
# Logs and checkpoints by epoch: _base_/epoch_runtime.py.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
