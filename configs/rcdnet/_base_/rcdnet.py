# The RCDNet recipe shared by configs/rcdnet/rcdnet_<set>.py, without a dataset: each of those
# lists this file and a dataset base and takes its training set's loader, lr steps and loop
# from the end of this file.
# RCDNet with the release's recipe (hongwang01/RCDNet at c6e1539: the README's training
# commands, RCDNet_code/for_syn/src/{option.py,trainer.py,utility.py,data/}, for SPA-Data
# RCDNet_code/for_spa/src/trainer.py): S = 17 stages, num_M = num_Z = 32; the loss of
# trainer.py (MSE of every stage's B and rain layer, 0.1 each, 1 for the output and the last
# rain layer; a rain layer R^(s) enters as the background O - R^(s) it implies, the same
# squared error) on pixel values in [0, 255] (loss_weight 255^2 on restorelab's [0, 1]); Adam
# lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay; StepLR every 25 epochs, gamma 0.2;
# 100 epochs; batch 16 of 64x64 crops (common.get_patch), flipped left-right with probability
# 1/2 (common.augment: its up-down flip and transpose are commented out) for the synthetic
# sets, crops only for SPA-Data (for_spa's Dataset.crop).
#
# Epochs -> iterations. The release's StepLR (PyTorch 0.4.1, stepped at the start of each
# epoch from last_epoch -1) gives epoch e = 0..99 the lr 1e-3 * 0.2 ** (e // 25): the lr
# drops after 25, 50 and 75 epochs, and training stops after 100 (trainer.terminate).
#   Synthetic sets: an epoch is len(dataset) / 16 batches with len(dataset) = pairs x repeat,
#   repeat = 1000 // (pairs // 16) (srdata.py; --test_every 1000), the last batch partial
#   (no drop_last):
#     Rain100L: 200 pairs, repeat 83 -> 16,600 samples -> 1,038 iterations per epoch
#       (the last of 8 pairs), 103,800 in all, lr drops after 25,950 / 51,900 / 77,850;
#     Rain100H: 1800 pairs (all of RainTrainH), repeat 8 -> 14,400 -> 900 per epoch, 90,000 in
#       all, lr drops after 22,500 / 45,000 / 67,500;
#     Rain1400 (DDN-Data): 12600 pairs, repeat 1 -> 12,600 -> 788 per epoch (the last of 8),
#       78,800 in all, lr drops after 19,700 / 39,400 / 59,100.
#   SPA-Data: 1,500 batches per epoch (for_spa trainer.py, drop_last), 150,000 in all, lr
#     drops after 37,500 / 75,000 / 112,500.
# Here every iteration draws 16 random pairs (a batch of 16 throughout; the release's last
# partial batch of an epoch is not reproduced) and one random crop of each.
# The release tests on the test set after every epoch and keeps the best epoch by its own
# PSNR (RGB, 8 border pixels cut) as model_best.pt (the released files); here validation and
# a checkpoint come once per epoch's worth of iterations and the best is kept by the val
# evaluator's PSNR.
#
# Initial rain kernels: the release starts C_0 and C from RCDNet_code/for_syn/src/model/
# init_kernel.mat (11,573 bytes, sha256 below), which its Rainkernel/init_rain_kernel.m does not
# reproduce. To train as it did, put that file at `init_kernel_file`; set
# model.arch.init_kernel_file=None to start from the script's kernels instead (init_rain_kernels).
# Only training reads it (testing and converting never do).
#   https://raw.githubusercontent.com/hongwang01/RCDNet/c6e1539697590452ce0ceb6d6e3bb897e8f65f90/RCDNet_code/for_syn/src/model/init_kernel.mat
#   sha256 eb93c5e0812599c4ce8cd44f171b7fe950f8603c0038c1cac942245ed181a9af (git blob a6f75f9639fb596af4a609f3edc889d222e9a721)
_base_ = ['../../_base_/default_runtime.py']

stages = 17
init_kernel_file = 'checkpoints/official/rcdnet/init_kernel.mat'
# Weights of RCDNet.forward_stages' estimates [B^(0), B^(1..S), O - R^(1..S), output]
# (restorelab.models.archs.rcdnet.rcdnet_stage_weights).
stage_weights = [0.1] * (1 + stages) + [0.1] * (stages - 1) + [1.0, 1.0]
model = dict(
    type='ImageRestorer',
    arch=dict(type='RCDNet', stages=stages, num_M=32, num_Z=32, init_kernel_file=init_kernel_file),
    pixel_loss=dict(type='MultiStageLoss', loss=dict(type='MSELoss', loss_weight=255.0 ** 2),
                    stage_weights=stage_weights),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 64
total_batch_size = 16  # the release's batch (one GPU); split over processes
max_epochs = 100
lr_step_epochs = 25
milestone_epochs = list(range(lr_step_epochs, max_epochs, lr_step_epochs))  # [25, 50, 75]
crop_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', patch_size=patch_size),
]
synthetic_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        *crop_pipeline,
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]))
spa_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[*crop_pipeline, dict(type='PackInputs')]))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(
    type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Iterations per epoch by training set (see the header); each set config takes its schedule
# and loop from these.
iters_per_epoch = dict(rain100l=1038, rain100h=900, ddn_data=788, spa_data=1500)
param_schedulers = {
    name: [dict(type='MultiStepLR', gamma=0.2, by_epoch=False,
                milestones=[e * n for e in milestone_epochs])]
    for name, n in iters_per_epoch.items()}
train_cfgs = {
    name: dict(type='IterBasedTrainLoop', max_iters=max_epochs * n, val_interval=n)
    for name, n in iters_per_epoch.items()}
