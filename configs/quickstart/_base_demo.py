# What `make demo` (tools/demo.py) trains: reduced models on synthetic rain rendered on the
# fly onto scikit-image's photographs, tested on a fixed rainy test set in the Rain200 layout.
# tools/demo.py sets the data root and the iterations in the sections that use them
# (train_cfg.max_iters, param_scheduler, the checkpoint interval, each dataset's data_root);
# the top-level variables below are read only while this file is parsed, so
# `--cfg-options max_iters=5` is refused: set train_cfg.max_iters=5 (and the others) instead.
# By hand:
#   python tools/make_synthetic_rain.py skimage:chelsea,motorcycle_right work_dirs/demo/data/test \
#       --max-side 192 --n-per-image 2 --seed 1
#   python tools/train.py configs/quickstart/restormer_demo.py
_base_ = ['../_base_/default_runtime.py']

demo_root = 'work_dirs/demo/data'
patch_size = 64
batch_size = 2
max_iters = 300
lr = 1e-3

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SyntheticRainDataset',
        data_root=demo_root,
        data_prefix=dict(gt='clean/train'),
        rain=dict(preset='heavy'),
        pipeline=[
            dict(type='PairedRandomCrop', patch_size=patch_size),
            dict(type='PairedRandomRot90'),
            dict(type='PairedRandomFlip', prob=0.5, direction='vertical'),
            dict(type='PackInputs'),
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PairedImageDataset',
        data_root=demo_root,
        data_prefix=dict(img='test/input', gt='test/target'),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile', key='img'),
            dict(type='LoadImageFromFile', key='gt'),
            dict(type='PackInputs'),
        ]))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PSNR', protocol='restormer', prefix='SynRain'),
    dict(type='SSIM', protocol='restormer', prefix='SynRain'),
]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=lr, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best='SynRain/PSNR'),
    visualization=dict(num_images=2),
)
