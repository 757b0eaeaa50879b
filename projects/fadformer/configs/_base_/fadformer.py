# The FADformer model and training recipe of deng-ai-lab/FADformer at 75a8835, without a dataset and
# without a schedule length: each fadformer_<set>.py in the folder above lists this file and a dataset
# base, merges fadformer_train_loader into the training loader and sets the number of epochs (the
# release's configs/<set>/FADformer.json). From train_rain200.py, models/FCR.py and the loaders
# (datasets/*_Dataloader.py):
#   loss: L1(out, gt) + 0.1 x FCR(out, gt, rain) (FrequencyContrastiveLoss: the DFT of the output
#     pulled towards the ground truth's and pushed from the rainy input's and one other rainy input's of
#     the batch; no pretrained network);
#   AdamW, lr 1e-3, PyTorch's defaults otherwise (betas (0.9, 0.999), eps 1e-8, weight decay 0.01);
#     gradient norm clipped at 0.01 at every step;
#   CosineAnnealingLR(T_max=epochs, eta_min=1e-5) stepped after every epoch, for epochs + 1 epochs
#     (the loop runs range(epochs + 1): the last epoch trains at eta_min);
#   batch 12 per step, one nn.DataParallel batch over 4 GPUs (3 per GPU), shuffled, last partial batch
#     dropped; 256x256 random crops, a left-right flip with p = 0.5, then np.rot90 by k in {0..3}
#     uniformly (counter-clockwise), as the release's augment(); RGB images in [0, 1];
#   validation on the test split every epoch (eval_freq 1), keeping the newest and the best-PSNR file.
#
# Choices and differences (see projects/fadformer/README.md):
# - batch: total_batch_size = 12 per optimizer step, at most batch_size_per_process = 3 through the
#   model at once (the release's per-GPU share, which is what its batch norms see); on fewer than 4
#   processes tools/train.py accumulates gradients (1 GPU: 3 x accumulate 4). FCR draws its second
#   negative within each 3-image batch; the release draws it within the whole batch of 12;
# - images smaller than 256 are padded (PairedRandomCrop, mirror) where the release resizes them (none
#   of the five training sets has such images at their published sizes);
# - validation scores whole test images (reflect-padded to a multiple of 4) with the set's protocol;
#   the release's validation centre-crops them to a multiple of 8 and scores the Y channel in Python.
_base_ = ['../../../../configs/_base_/epoch_runtime.py']

custom_imports = dict(imports=['projects.fadformer.fadformer'], allow_failed_imports=False)

model = dict(
    type='ImageRestorer',
    arch=dict(type='FADformer', in_channels=3, out_channels=3, dim=32, depths=[4, 8, 10, 8, 4]),
    pixel_loss=dict(type='CompositeLoss', losses=[
        dict(type='L1Loss', loss_weight=1.0),
        dict(type='FrequencyContrastiveLoss', loss_weight=0.1, num_negatives=2)]),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 256
total_batch_size = 12  # one optimizer step; tools/train.py splits it over the processes
batch_size_per_process = 3  # the release's share per GPU (12 over 4 GPUs): its batch-norm batch
lr = 1e-3
eta_min = 1e-5

# augment() of the release's loaders: crop, left-right flip (p = 0.5), then a rotation by k x 90
# degrees counter-clockwise (np.rot90 on the (H, W) axes), k uniform in {0, 1, 2, 3}.
fadformer_train_loader = dict(
    batch_size=total_batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PairedRandomRot90', ks=(0, 1, 2, 3)),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    clip_grad=dict(max_norm=0.01, norm_type=2))

# The release's loops are epoch-based: checkpoints (the last 3 and the best kept) and logs by epoch,
# configs/_base_/epoch_runtime.py.
