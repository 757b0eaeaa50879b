# The NeRD-Rain model and the release's training recipe (cschenxiang/NeRD-Rain at 295f4fd: train.py,
# losses.py, dataset_RGB.py), without a dataset: each nerd_rain[_s]_<set>.py in this folder lists
# this file and a dataset base and merges nerd_rain_train_loader into the training loader.
#   loss (train.py): on the three scale outputs against a 3-level Gaussian pyramid of the target
#     (kornia build_pyramid), Charbonnier (eps 1e-3) + 0.01 x FFT loss + 0.05 x edge loss each; plus
#     0.1 x L1 on the S2 and S1 INR outputs against the 1/2 and 1/4 levels;
#   Adam lr 1e-4, betas (0.9, 0.999), eps 1e-8, no weight decay;
#   3000 epochs, batch 1 of 256x256 random crops (images smaller than 256 reflect-padded at the
#     bottom/right first), shuffled;
#   lr per epoch: GradualWarmupScheduler(multiplier 1, 3 epochs) then CosineAnnealingLR(T_max=2997,
#     eta_min=1e-6), stepped after each epoch only: epoch 1 trains at 0, epochs 2-4 at 1/3, 2/3, 1
#     x 1e-4, epoch 5 at 1e-4 and epoch e >= 5 at 1e-6 + (1e-4 - 1e-6) (1 + cos(pi (e - 5) / 2997)) / 2
#     (WarmupCosineLR, registered by the plugin);
#   augmentation: aug = random.randint(0, 8), the nine cases of dataset_RGB.py (identity for 0 and 8;
#     flip up-down, flip left-right, rotate 90, 180, 270 counter-clockwise, flip up-down then rotate
#     90, flip left-right then rotate 90);
#   validation every epoch, the best-PSNR checkpoint kept.
# The release's train.sh runs train.py as is (Rain200L paths); it gives no per-set settings, so every
# set here uses the same recipe; the number of epochs is the release's default whatever the set's size
# (an epoch is one pass over the training pairs at batch 1: 1,800 iterations on Rain200L/H).
#
# Differences from the release:
# - the photometric augmentation is left out: dataset_RGB.py adjusts the gamma by 1 (a no-op) with
#   probability 1/3, and the saturation of both images by a factor drawn from [0.8, 1.2] with
#   probability 1/3 (PIL ImageEnhance.Color on 8-bit images), which restorelab has no transform for;
# - images smaller than the crop are padded with np.pad 'symmetric' (PairedRandomCrop), where the
#   release's torchvision pad 'reflect' does not repeat the edge pixel;
# - validation runs on whole test images with the dataset's protocol, the release on 256x256 centre
#   crops with RGB PSNR; it only chooses which checkpoint is "best";
# - the release's last encoder-decoder has a 1x1 conv it never uses (see network.py), so distributed
#   training needs find_unused_parameters=True (the release trains with DataParallel).
_base_ = ['../../../../configs/_base_/epoch_runtime.py']

custom_imports = dict(imports=['projects.nerd_rain.nerd_rain'], allow_failed_imports=False)

dim = 48  # NeRD-Rain (model.py); 32 for NeRD-Rain-S (model_S.py)
model = dict(
    type='ImageRestorer',
    arch=dict(type='NeRDRain', dim=dim, num_blocks=[2, 3, 3], heads=[1, 2, 4], ffn_expansion_factor=2.66,
              bias=False, LayerNorm_type='WithBias'),
    # forward_stages: [S1 INR output, S2 INR output, S1, S2, S3 outputs]
    pixel_loss=dict(type='MultiScaleLoss', num_levels=3, terms=[
        dict(outputs=[2, 3, 4], loss=dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3)),
        dict(outputs=[2, 3, 4], loss=dict(type='FFTLoss', loss_weight=0.01)),
        dict(outputs=[2, 3, 4], loss=dict(type='EdgeLoss', loss_weight=0.05, eps=1e-3)),
        dict(outputs=[0, 1], loss=dict(type='L1Loss', loss_weight=0.1)),
    ]),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))
find_unused_parameters = True

patch_size = 256
total_batch_size = 1  # split over the processes by tools/train.py
max_epochs = 3000
warmup_epochs = 3
val_interval = 1  # epochs

# dataset_RGB.py's nine cases; flips and rotations act on the (H, W) axes as torch.flip /
# torch.rot90(dims=(1, 2)) do on its CHW tensors: flip(1) = up-down, flip(2) = left-right.
_up_down = dict(type='PairedRandomFlip', prob=1.0, direction='vertical')
_left_right = dict(type='PairedRandomFlip', prob=1.0, direction='horizontal')
nerd_rain_augment_pipeline = [
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
# The training loader's settings, merged into the dataset base's train_dataloader by each config
# (the pipeline list replaces the dataset's default one).
nerd_rain_train_loader = dict(
    batch_size=total_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        *nerd_rain_augment_pipeline,
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(type='WarmupCosineLR', warmup=warmup_epochs, T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=0, end=max_epochs),
]
# Logs and checkpoints by epoch: configs/_base_/epoch_runtime.py.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=val_interval)
