# The RESCAN recipe shared by configs/rescan/rescan_<set>.py, without a dataset: each of those
# lists this file and a dataset base and takes the training loader from here.
# RESCAN with the release's recipe (XiaLiPKU/RESCAN at e28d1d7, config/settings.py and
# config/train.py), which csdwren/RecDerain followed for its Rain200H/Rain200L models (their
# checkpoints are that train.py's, saved at its step 19,975):
#   - the model of settings.py: ConvGRU units, full prediction, 4 stages, depth 7, 24 channels,
#     SE (149,823 parameters);
#   - loss: the sum over the 4 stages of MSE(R_s, O - B) = MSE(O - R_s, B), i.e. MultiStageLoss
#     of MSELoss on every stage's derained estimate;
#   - Adam lr 5e-3, MultiStepLR milestones [15000, 17500] gamma 0.1, 20,000 iterations of batch
#     64 of 64x64 random crops, no flips or rotations (settings.aug_data = False).
# The lr steps: train.py calls sche.step() at the start of every iteration, the first
# included, so iteration i (from 0) runs with the lr of scheduler step i + 1: the lr drops at
# iterations 14,999 and 17,499 (milestones of mmengine's MultiStepLR, which steps after each
# iteration). The release's crops come from TrainValDataset: every training pair 100 times
# per pass, shuffled, one random 64x64 crop each; here InfiniteSampler draws pairs in random
# order and PairedRandomCrop one random crop each: the same distribution, no passes.
# Left open by the release, chosen here: validation (the release logs the loss of one
# validation batch every 4 iterations) and checkpoints (its 'latest' every 25 iterations,
# 'step_<N>' every 400) are every 2,000 iterations; the channel order (the release trains on
# BGR images as OpenCV reads them; restorelab on RGB, the converter maps its weights).
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='RESCAN', unit='ConvGRU', prediction='full', num_stages=4, depth=7,
              channels=24, use_se=True),
    pixel_loss=dict(type='MultiStageLoss', loss=dict(type='MSELoss')),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 64
total_batch_size = 64  # the release's batch (one GPU); split over processes
max_iters = 20_000
eval_interval = 2_000
rescan_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[14_999, 17_499], gamma=0.1, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=eval_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=eval_interval))
