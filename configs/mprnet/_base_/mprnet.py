# The MPRNet deraining recipe shared by configs/mprnet/mprnet_<set>.py, without a dataset: each of
# those lists this file and a dataset base and merges mprnet_train_loader into the training loader.
# MPRNet with the release's deraining recipe (swz30/MPRNet at 43feb2a: Deraining/training.yml,
# train.py, losses.py, dataset_RGB.py):
#   loss: on each of the three stage images, Charbonnier (eps 1e-3) + 0.05 x edge loss (Charbonnier
#     between Laplacians), summed over the stages (MultiStageLoss over the arch's forward_stages);
#   Adam lr 2e-4, betas (0.9, 0.999), eps 1e-8, no weight decay;
#   250 epochs; lr per epoch (GradualWarmupScheduler, multiplier 1, 3 warm-up epochs, then
#     CosineAnnealingLR(T_max=247, eta_min=1e-6), stepped once before training and after every
#     epoch): epoch e = 1, 2, 3 trains at 2e-4 * e / 3, epoch e >= 4 at
#     1e-6 + (2e-4 - 1e-6) * (1 + cos(pi * (e - 4) / 247)) / 2 (the last one, e = 250, at 1.008e-6),
#     under the PyTorch 1.1 the release names (closed-form CosineAnnealingLR; with the chainable
#     one of PyTorch >= 1.4 the release's lrs differ from these by up to 4e-5 relative);
#   batch 16 (one DataParallel batch over the release's 4 GPUs) of 256x256 random crops, every
#     image reflect-padded at the bottom/right first if smaller than 256, shuffled, the last
#     partial batch kept;
#   augmentation: aug = random.randint(0, 8), nine equally likely cases of which two (0 and 8)
#     leave the crop as it is: identity 2/9; flip up-down, flip left-right, rotate 90, 180, 270
#     degrees counter-clockwise, flip up-down then rotate 90, flip left-right then rotate 90,
#     1/9 each (the 8 symmetries of the square, the identity twice as likely);
#   validation every 5 epochs.
# Here the loop is epoch-based, as the release's, so the schedule is its per-epoch staircase
# exactly (LinearLR from 1/3 to 1 over epochs 0-2, mmengine's end is exclusive and its last step
# end - 1); on Rain13K (13,712 pairs) an epoch is 857 iterations, 214,250 in all.
#
# Differences from the release:
# - images smaller than the crop are padded with the edge pixel repeated (np.pad 'symmetric', as
#   PairedRandomCrop pads for Restormer/DRSformer) where the release's torchvision pad 'reflect'
#   does not repeat it;
# - validation runs on whole test images with the dataset's protocol (restormer: Y channel), the
#   release on 128x128 centre crops with RGB PSNR; it chooses only which checkpoint is "best";
# - checkpoints every epoch (the last 3 and the best kept); the release keeps one every 5 epochs,
#   the latest and the best;
# - the release's train.py sums the stage losses with torch.sum over a Python list (np.sum before
#   its last commit), which recent torch rejects; the sum meant is the one computed here.
_base_ = ['../../_base_/epoch_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='MPRNet', n_feat=40, scale_unetfeats=20, scale_orsnetfeats=16, num_cab=8,
              kernel_size=3, reduction=4, bias=False),
    pixel_loss=dict(type='MultiStageLoss', loss=dict(type='CompositeLoss', losses=[
        dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3),
        dict(type='EdgeLoss', loss_weight=0.05, eps=1e-3)])),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 256
total_batch_size = 16  # split over the processes by tools/train.py
max_epochs = 250
warmup_epochs = 3
val_interval = 5  # epochs (VAL_AFTER_EVERY)

# dataset_RGB.py's nine cases; flips and rotations act on the (H, W) axes as torch.flip /
# torch.rot90(dims=(1, 2)) do on its CHW tensors: flip(1) = up-down, flip(2) = left-right.
_up_down = dict(type='PairedRandomFlip', prob=1.0, direction='vertical')
_left_right = dict(type='PairedRandomFlip', prob=1.0, direction='horizontal')
mprnet_augment_pipeline = [
    dict(type='RandomChoice', transforms=[
        [],
        [_up_down],
        [_left_right],
        [dict(type='PairedRandomRot90', ks=(1,))],
        [dict(type='PairedRandomRot90', ks=(2,))],
        [dict(type='PairedRandomRot90', ks=(3,))],
        [_up_down, dict(type='PairedRandomRot90', ks=(1,))],
        [_left_right, dict(type='PairedRandomRot90', ks=(1,))],
        [],
    ]),
]
# The training loader's settings, merged into the dataset base's train_dataloader by each
# mprnet_<set>.py (the pipeline list replaces the dataset's default one). The two loading steps
# are those of _base_/datasets/paired_pipelines.py.
mprnet_train_loader = dict(
    batch_size=total_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        *mprnet_augment_pipeline,
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, by_epoch=True, begin=0, end=warmup_epochs),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs),
]
# Logs and checkpoints by epoch: _base_/epoch_runtime.py.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=val_interval)
