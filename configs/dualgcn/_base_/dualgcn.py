# The DualGCN recipe shared by configs/dualgcn/dualgcn_<set>.py, without a dataset: each of
# those lists this file and a dataset base and takes dualgcn_train_loader as its training
# loader.
#
# The release (xueyangfu/xueyangfu.github.io at 99fe217, paper/2021/AAAI/code/) holds test
# code and weights only: no training script, loss, optimizer, schedule, batch or patch size.
# So this recipe is restorelab's, not the authors'. It follows the training protocol that the
# DRSformer paper (CVPR 2023, Sec. 4.1) states for the Table 1 it compares DualGCN in:
# batch 8 of 128x128 patches, 300K iterations, lr 1e-4 for 92K iterations then cosine
# annealing to 1e-6 over 208K, AdamW, random vertical and horizontal flips. What that text
# leaves open is taken from the Restormer/DRSformer releases' deraining options: L1 loss,
# betas (0.9, 0.999), weight decay 1e-4. Their gradient clipping (max norm 0.01) is not
# stated in the paper and not used here.
_base_ = ['../../_base_/default_runtime.py']

channels = 72  # the release's Inference(images, channels=72)
model = dict(
    type='ImageRestorer',
    arch=dict(type='DualGCN', channels=channels),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 128
total_batch_size = 8
max_iters = 300_000
constant_iters = 92_000
val_interval = 5000

dualgcn_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=patch_size),
        dict(type='PairedRandomFlip', prob=0.5, direction='vertical'),
        dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
# Before `begin` the lr stays at the optimizer's 1e-4.
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters - constant_iters, eta_min=1e-6,
         by_epoch=False, begin=constant_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
