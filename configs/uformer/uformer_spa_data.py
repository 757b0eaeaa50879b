# Uformer-B trained on SPA-Data with the recipe of uformer_rain200h.py.
# That recipe, unchanged: Uformer's own (train/train_denoise.py) -- Charbonnier loss (eps 1e-3),
# AdamW lr 2e-4, betas (0.9, 0.999), weight decay 0.02, 3,600 warmup iterations then cosine
# to 1e-6, 300k iterations, batch 32 of 128x128 crops, the 8 flips/rotations. The Uformer
# release has no deraining recipe; see uformer_rain200h.py for how this one was chosen.
# Only the dataset (and with it the evaluation protocol) comes from _base_/datasets/spa_data.py.
# Train: python tools/train.py configs/uformer/uformer_spa_data.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spa_data.py',
]

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

train_patch_size = img_size
total_batch_size = 32
train_dataloader = dict(
    batch_size=total_batch_size,
    dataset=dict(pipeline=[
        *_base_.load_pair_pipeline,
        dict(type='PairedRandomCrop', patch_size=train_patch_size),
        *_base_.augment_pipeline,
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
