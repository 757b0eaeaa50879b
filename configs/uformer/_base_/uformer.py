# Uformer-B recipe shared by configs/uformer/uformer_<set>.py (no dataset: each of those
# lists this file and a dataset base and merges uformer_train_loader into the training loader).
# The Uformer release (ZhendongWang6/Uformer) ships no deraining
# recipe, and neither IDT's nor DRSformer's release documents how they retrained it, so
# this config keeps Uformer's own training recipe (train/train_denoise.py with
# script/train_denoise.sh) and sets only its length:
#   kept: Charbonnier loss (eps 1e-3), AdamW lr 2e-4, betas (0.9, 0.999), eps 1e-8, weight
#   decay 0.02, linear warmup then cosine annealing to 1e-6, batch 32 of 128x128 crops
#   (train_ps 128 = img_size), one of the 8 flips/rotations uniformly;
#   chosen: 300k iterations, the length DRSformer and Restormer train on Rain200H, so the
#   benchmark's Transformer baselines get the same number of updates (Uformer's 250 epochs
#   are ~750k iterations on its SIDD patches but only ~14k on Rain200H's 1800 pairs), with
#   the warmup's share of the release (3 of 250 epochs) = 3,600 iterations.
# Not reproduced: MixUp of pairs after epoch 5 and fp16 autocast (the release uses both).
_base_ = ['../../_base_/default_runtime.py']

img_size = 128  # the release's train_ps; fixes the windows of the 8x8 bottleneck
model = dict(
    type='ImageRestorer',
    arch=dict(
        type='Uformer',
        img_size=img_size,
        embed_dim=32,
        depths=[1, 2, 8, 8, 2, 8, 8, 2, 1],
        num_heads=[1, 2, 4, 8, 16, 16, 8, 4, 2],
        win_size=8,
        mlp_ratio=4.0,
        qkv_bias=True,
        token_projection='linear',
        token_mlp='leff',
        modulator=True,
        drop_path_rate=0.1),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, eps=1e-3),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

total_batch_size = 32
# The training loader's settings, merged into the dataset base's train_dataloader by each
# uformer_<set>.py (the pipeline list replaces the dataset's default one). Loading and the
# 8 flips/rotations are those of _base_/datasets/paired_pipelines.py.
uformer_train_loader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile', key='img'),
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='PairedRandomCrop', patch_size=img_size),
        dict(type='PairedRandomRot90'),
        dict(type='PairedRandomFlip', prob=0.5, direction='vertical'),
        dict(type='PackInputs'),
    ]))

max_iters = 300000
warmup_iters = 3600
val_interval = 1000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=1e-6, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
