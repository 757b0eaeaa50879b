# The MSPFN recipe shared by configs/mspfn/mspfn*_<set>.py, without a dataset.
# MSPFN with the release's recipe (kuijiang94/MSPFN at 26e6073, model/train_MSPFN.py):
# - the network of model/MSPFN.py: 17 fine fusion modules with 3, 3 and 1 channel attention
#   units at scales 1, 1/2 and 1/4 (mspfn_m17n1_<set>.py: the released weights' network, one
#   per scale);
# - loss: Charbonnier (eps 1e-3) of the derained image + 0.05 x Charbonnier (eps 1e-3) of its
#   3x3 Laplacian (MODEL.inference_losses), on images in [-1, 1]. On restorelab's [0, 1] images
#   every difference is half as large, and sqrt((2 d) ** 2 + eps ** 2) = 2 sqrt(d ** 2 +
#   (eps / 2) ** 2): the same loss values are CharbonnierLoss(eps=5e-4, loss_weight=2) +
#   Laplacian3x3EdgeLoss(eps=5e-4, loss_weight=0.1);
# - Adam (TensorFlow's defaults: betas 0.9/0.999, eps 1e-8), lr 5e-4 * 0.8 ** (step / 20,000)
#   + 1e-6 (exponential_decay, staircase=False, stepped every iteration);
# - batch 12 of 96x96 patches, each batch turned by one of the 8 rotations/reflections of the
#   square, uniformly (utils/layer.py rotate).
#
# What the release leaves open or does otherwise:
# - Training length: train_MSPFN.py loops until stopped, saving every epoch, and the released
#   weights are 'epoch50' of a patch set that is not published outside Baidu Cloud. Here the run
#   stops after 560,000 iterations, where the decaying part of the lr falls below its 1e-6 floor
#   (5e-4 * 0.8 ** 28 = 9.7e-7).
# - Data: the release cuts the training images into a fixed set of non-overlapping 96x96
#   patches once (train_data/crop.py) and walks them in order; here each iteration crops 12
#   random pairs at random places, and draws the rotation/reflection per patch instead of per
#   batch.
# - It validates nothing; here validation and a checkpoint every 20,000 iterations (one lr decay
#   period).
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='MSPFN', num_ffms=17, num_caus=(3, 3, 1)),
    pixel_loss=dict(type='CompositeLoss', losses=[
        dict(type='CharbonnierLoss', eps=5e-4, loss_weight=2.0),
        dict(type='Laplacian3x3EdgeLoss', eps=5e-4, loss_weight=0.1)]),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 96
total_batch_size = 12  # the release's batch; split over processes
max_iters = 560_000
val_interval = 20_000
lr = 5e-4
lr_floor = 1e-6

mspfn_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PairedRandomRot90'),
        dict(type='PairedRandomFlip', prob=0.5, direction='vertical'),
        dict(type='PackInputs'),
    ]))

# lr + lr_floor as one schedule: Adam's lr is lr_floor + lr, and ExponentialLR's factor per
# iteration 0.8 ** (1 / 20,000) acts on the decaying part only through ExponentialDecayToFloor.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=lr + lr_floor, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [dict(type='ExponentialDecayToFloorLR', decay_rate=0.8, decay_steps=20_000,
                        floor=lr_floor, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=val_interval))
