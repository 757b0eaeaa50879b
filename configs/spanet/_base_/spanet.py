# The SPANet recipe shared by configs/spanet/spanet_<set>.py, without a dataset: each of those
# lists this file and a dataset base and takes the training loader from here.
# SPANet with the release's recipe (stevewongv/SPANet at 82d2889, main.py, dataset.py and
# randomcrop.py):
#   - the release's network: 32 channels, 3 residual blocks, 4 SAM stages of 3 spatial attentive
#     residual blocks, 2 residual blocks (283,716 parameters); the SAM's direction attention is
#     computed and discarded by the release (direction_attention=False, see the arch);
#   - loss: L1(out, B) + (1 - SSIM(out, B)) + MSE(attention map of the first SAM, M), with M = 1
#     where the rainy crop differs from the clean one in any channel: AttentionMaskLoss around
#     CompositeLoss(L1Loss, SSIMLoss) (SSIMLoss is -SSIM: the constant 1 changes no gradient;
#     the release's SSIM is PReNet's, an 11x11 Gaussian window of sigma 1.5);
#   - data: each pair through RandomResizedCrop(256, scale (0.8, 1), ratio (3/4, 4/3), bicubic)
#     (PairedRandomResizedCrop), no flips or rotations; batch 16;
#   - Adam lr 5e-3, lr x0.1 at step 30,000 (MultiStepLR), 40,001 iterations ("we here stop at
#     40K steps": while step < 40001). main.py calls sche.step() at the start of every
#     iteration, so iteration i (from 0) runs with the lr of scheduler step i + 1: the lr drops
#     at iteration 29,999 (mmengine's milestones step after each iteration).
# The release's loader draws every pair 100 times per pass, shuffled; InfiniteSampler draws pairs
# in random order: the same distribution, no passes.
# Left open by the release, chosen here: validation (the release logs the loss of one training
# batch every 4 iterations) and checkpoints ('latest' every 25 iterations, 'step_<N>' every 400)
# every 4,000 iterations; the channel order (the release trains on BGR images as OpenCV reads
# them; restorelab on RGB, the converter maps its weights).
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='ImageRestorer',
    arch=dict(type='SPANet', channels=32, num_head_blocks=3, num_attentive_stages=4,
              blocks_per_stage=3, num_tail_blocks=2, direction_attention=False),
    pixel_loss=dict(
        type='AttentionMaskLoss',
        loss=dict(type='CompositeLoss', losses=[dict(type='L1Loss'), dict(type='SSIMLoss')]),
        mask_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

patch_size = 256
total_batch_size = 16  # the release's batch (DataParallel over its GPUs); split over processes
max_iters = 40_001
lr_milestone = 29_999
eval_interval = 4_000
spanet_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomResizedCrop', size=patch_size, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3)),
        dict(type='PackInputs'),
    ]))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = [dict(type='MultiStepLR', milestones=[lr_milestone], gamma=0.1, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=eval_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=eval_interval))
