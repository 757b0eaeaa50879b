# The SPDNet recipe shared by configs/spdnet/spdnet_<set>.py, without a dataset: each of those
# lists this file and a dataset base and takes its set's loop and lr steps from the end of
# this file.
# SPDNet with the release's recipe (Joyies/SPDNet at c03b8d3, the README's training command,
# src/option.py, trainer.py, utility.py, data/common.py, data/srdata.py):
#   --n_feats 32 --n_resblocks 3; --loss 1*MSE on each of the three estimates, summed
#   (trainer.py: loss(out3) + loss(out2) + loss(out1)), on pixels in [0, 255] (--rgb_range
#   255, its default); Adam (--optimizer ADAM) lr 5e-4, betas (0.9, 0.999), eps 1e-8, no
#   weight decay; MultiStepLR milestones 100/150/200/230/260/280/300 (--decay_type default)
#   gamma 0.5; --epochs 300; --batch_size 16 (one DataParallel batch) of --patch_size 128
#   random crops, flipped left-right with probability 1/2 (data/common.py augment: its
#   up-down flip and rotation are commented out).
#
# The loss. MultiStageLoss sums the MSE over the three estimates of SPDNet.forward_stages.
# restorelab's arch returns [0, 1] estimates (SPDNet's rgb_range=255 scales inside it), so MSE
# on [0, 1] times 255^2 is the release's loss value, and with it its gradients (Adam's eps is
# then compared with the same gradient sizes as in the release).
#
# Epochs -> iterations. An epoch of the release is one pass over its training set repeated
# test_every // (pairs // batch) times (srdata.py: repeat; --test_every 1000), in shuffled
# batches of 16 with a last partial batch (drop_last False):
#   Rain200H/L: 1800 pairs, 1000 // 112 = 8 repeats, 14,400 crops -> 900 iterations per epoch.
#   DID-Data (Rain1200): 12,000 pairs, 1 repeat -> 750.      DDN-Data: 12,600 pairs, 1 -> 788.
#   SPA-Data: 638,492 pairs: 1000 // 39,905 = 0 repeats, an empty epoch in the release's code;
#     here one pass (39,906 iterations per epoch), which the release leaves open.
# The release's PyTorch 0.4.1 scheduler starts at last_epoch -1 and is stepped at the start of
# every epoch, so epoch k (1-based) trains at 5e-4 * 0.5 ** (milestones <= k - 1): the lr
# halves after epochs 100, 150, 200, 230, 260 and 280 (300 is never reached), and training
# stops after epoch 300. Here the loop is iteration-based, each iteration drawing 16 random
# pairs and one random crop of each, for 300 epochs' worth of iterations.
# The release tests on the test set and saves a checkpoint after every epoch (model_best.pt:
# the best PSNR); here both happen once per epoch's worth of iterations (best by PSNR).
# The release skips a batch whose loss exceeds 1e6 times the previous epoch's mean
# (--skip_threshold); restorelab has no such skip (it would take a diverging run).
_base_ = ['../../_base_/default_runtime.py']

n_feats = 32
n_resblocks = 3
rgb_range = 255.0
model = dict(
    type='ImageRestorer',
    arch=dict(type='SPDNet', n_feats=n_feats, n_resblocks=n_resblocks, rgb_range=rgb_range),
    pixel_loss=dict(type='MultiStageLoss', loss=dict(type='MSELoss', loss_weight=rgb_range ** 2)),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 128
total_batch_size = 16  # the release's batch (one DataParallel batch); split over processes
max_epochs = 300
milestone_epochs = [100, 150, 200, 230, 260, 280]

spdnet_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Per training set (see the header): iterations per epoch, the lr steps and the loop.
rain200_iters_per_epoch = 900
rain200_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.5, by_epoch=False,
         milestones=[e * rain200_iters_per_epoch for e in milestone_epochs]),
]
rain200_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * rain200_iters_per_epoch,
                         val_interval=rain200_iters_per_epoch)

did_data_iters_per_epoch = 750
did_data_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.5, by_epoch=False,
         milestones=[e * did_data_iters_per_epoch for e in milestone_epochs]),
]
did_data_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * did_data_iters_per_epoch,
                          val_interval=did_data_iters_per_epoch)

ddn_data_iters_per_epoch = 788
ddn_data_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.5, by_epoch=False,
         milestones=[e * ddn_data_iters_per_epoch for e in milestone_epochs]),
]
ddn_data_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * ddn_data_iters_per_epoch,
                          val_interval=ddn_data_iters_per_epoch)

spa_data_iters_per_epoch = 39906
spa_data_param_scheduler = [
    dict(type='MultiStepLR', gamma=0.5, by_epoch=False,
         milestones=[e * spa_data_iters_per_epoch for e in milestone_epochs]),
]
spa_data_train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_epochs * spa_data_iters_per_epoch,
                          val_interval=spa_data_iters_per_epoch)

# The README: "All PSNR and SSIM results are computed by using this Matlab code" (PReNet's
# statistic scripts, Y channel): restorelab's 'rcdnet' protocol, on every set.
spdnet_eval_protocol = 'rcdnet'
