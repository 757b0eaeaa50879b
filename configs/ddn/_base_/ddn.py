# The DDN recipe shared by configs/ddn/ddn_<set>.py, without a dataset: each of those lists
# this file and a dataset base.
# DDN with the release's recipe (Xueyang Fu's CVPR17_training_code, training.py): mean squared
# error, SGD with momentum 0.9 (tf.train.MomentumOptimizer), lr 0.1, x0.1 after 100,000
# iterations and x0.01 after 200,000 (the lr used for iteration j is set from j + 1 > 1e5, 2e5),
# 210,000 iterations, batch 20 of 64x64 random crops (the same crop of rain and ground truth),
# no flips or rotations. Batch norm in training mode uses the batch's statistics; its moving
# averages have TensorFlow's momentum 0.99 (PyTorch's 0.01, set in the arch).
#
# What the release leaves open or does otherwise:
# - training.py builds an L2 regulariser (scale 1e-10) on every kernel but never adds the
#   regularisation losses to the loss it minimises: no weight decay here either.
# - Its tf.data pipeline does not shuffle: it walks the training pairs in os.listdir order, one
#   random crop per pair per pass. Here the InfiniteSampler draws pairs at random.
# - It validates nothing and saves every 100 iterations (the last 5 kept); here validation and
#   a checkpoint every 10,000 iterations.
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='DDN', num_features=16, num_units=12, radius=15, eps=1.0),
    pixel_loss=dict(type='MSELoss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 64
total_batch_size = 20  # the release's batch (one GPU); split over processes
max_iters = 210_000
val_interval = 10_000

ddn_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0))
param_scheduler = [dict(type='MultiStepLR', milestones=[100_000, 200_000], gamma=0.1, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=val_interval))
