# The BRN recipe shared by configs/brn/brn_<set>.py (and, through _base_/aidnet.py, by
# configs/aidnet/), without a dataset: each of those lists this file and a dataset base and
# takes its training set's loader, lr steps and loop from the end of this file.
# BRN with the release's recipe (csdwren/RecDerain at 5b2ad01, train.py and
# DerainDataset.py): negative SSIM loss (pytorch_ssim.SSIM: 11x11 Gaussian window, sigma
# 1.5, as restorelab's SSIMLoss), Adam lr 1e-3 (the --lr default; its comment reads
# "1e-3L 5e-4H 5e-5R1400", the README's command passes none), MultiStepLR milestones
# [30, 50, 80] gamma 0.2 stepped by scheduler.step(epoch) at the start of each epoch,
# 100 epochs, batch 12 of 100x100 patches, 8 stages (--inter_iter 8, also test_BRN.py's).
#
# Epochs -> iterations. The release pre-cuts every training image into 100x100 patches
# with stride 100 (Im2Patch: 3 x 4 = 12 per 481x321 image) and an epoch is one pass over
# that fixed set, so iterations per epoch = patches / 12 (no partial last batch):
#   RainTrainH: 1254 pairs (1800 less the 546 the release deletes for sharing backgrounds
#     with the test set) x 12 = 15,048 patches -> 1,254 iterations per epoch, 125,400 in
#     all, lr steps after 37,620 / 62,700 / 100,320. (AIDNet's released Rain100H file,
#     trained by the same script, counts 3,009,600 batch-norm batches = 125,400 iterations x
#     24 attention calls.)
#   RainTrainL: 200 pairs, each cut as is and flipped left-right, x 12 = 4,800 patches ->
#     400 iterations per epoch, 40,000 in all, lr steps after 12,000 / 20,000 / 32,000.
#   Rain200H / Rain200L (the release's "RainHeavy" / "RainLight", prepare_data_newrain): all
#     1800 pairs, not flipped (the flip is commented out), x 12 = 21,600 patches -> 1,800
#     iterations per epoch, 180,000 in all, lr steps after 54,000 / 90,000 / 144,000.
# Here the loop is iteration-based: every iteration draws 12 random pairs and one random
# 100x100 crop of each (for RainTrainL flipped left-right with probability 1/2: the same
# share of flipped patches, none of them fixed), for those numbers of iterations.
# The lr of the Rain200H/L models is not stated either: the --lr default 1e-3 is kept (the
# comment's "5e-4H" may mean RainTrainH or Rain200H; the README's command passes none).
# The release validates nothing during training and saves a checkpoint every epoch; here
# both happen once per epoch's worth of iterations.
_base_ = ['../../_base_/default_runtime.py']

recurrent_iter = 8
model = dict(
    type='ImageRestorer',
    arch=dict(type='BRN', recurrent_iter=recurrent_iter),
    pixel_loss=dict(type='SSIMLoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 100
total_batch_size = 12  # the release's batch (one DataParallel batch); split over processes
max_epochs = 100
milestone_epochs = [30, 50, 80]
crop_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', patch_size=patch_size),
]

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Per training set (see the header): the training loader's settings (merged into the
# dataset base's), lr = 1e-3 * 0.2 ** (number of milestones passed), the loop.
rain100h_iters_per_epoch = 1254
rain100h_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[*crop_pipeline, dict(type='PackInputs')]))
rain100h_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
         milestones=[e * rain100h_iters_per_epoch for e in milestone_epochs]),
]
rain100h_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * rain100h_iters_per_epoch,
                          val_interval=rain100h_iters_per_epoch)

rain100l_iters_per_epoch = 400
rain100l_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        *crop_pipeline,
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]))
rain100l_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
         milestones=[e * rain100l_iters_per_epoch for e in milestone_epochs]),
]
rain100l_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * rain100l_iters_per_epoch,
                          val_interval=rain100l_iters_per_epoch)

# Rain200H and Rain200L: the same loader, schedule and loop (1800 pairs each, no flips).
rain200_iters_per_epoch = 1800
rain200_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[*crop_pipeline, dict(type='PackInputs')]))
rain200_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
         milestones=[e * rain200_iters_per_epoch for e in milestone_epochs]),
]
rain200_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * rain200_iters_per_epoch,
                         val_interval=rain200_iters_per_epoch)
