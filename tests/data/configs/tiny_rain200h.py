# A tiny Restormer on a Rain200-layout folder: what the tool tests train.
# The tests set data_root (train_dataloader.dataset.data_root, ...) with
# --cfg-options to a generated folder.
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/datasets/rain200h.py',
]

model = dict(
    type='ImageRestorer',
    arch=dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
              heads=[1, 1, 2, 2], ffn_expansion_factor=1.5),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'),
)

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=[
        *_base_.load_pair_pipeline,
        dict(type='PairedRandomCrop', patch_size=32),
        *_base_.augment_pipeline,
        dict(type='PackInputs'),
    ]))
val_dataloader = dict(num_workers=0)
test_dataloader = val_dataloader

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3),
                     clip_grad=dict(max_norm=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=10),
    visualization=dict(num_images=2),
)
randomness = dict(seed=0, diff_rank_seed=True)
