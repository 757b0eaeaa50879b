# Runtime shared by every restorelab config: scope, hooks, logging,
# visualisation, environment. Iteration-based training throughout.
default_scope = 'restorelab'

# Evaluate/checkpoint every `val_interval` iterations; method configs set
# train_cfg = dict(type='IterBasedTrainLoop', max_iters=..., val_interval=...).
checkpoint_interval = 5000

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # save_best='auto' keeps the checkpoint of the best first metric (PSNR);
    # PSNR/SSIM are not in mmengine's default "greater is better" keys.
    checkpoint=dict(
        # mmengine's CheckpointHook with atomic writes (see restorelab.engine.hooks).
        type='AtomicCheckpointHook',
        interval=checkpoint_interval,
        by_epoch=False,
        max_keep_ckpts=3,
        save_last=True,
        save_best='auto',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='ComparisonVisualizationHook', num_images=4),
)

# EMA of the weights (mmengine's EMAHook; evaluation and saved checkpoints
# then use the averaged weights). Switch on with `--cfg-options use_ema=True`.
use_ema = False
ema_momentum = 0.001

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py uses gloo instead when no GPU is present.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
log_level = 'INFO'

# Different ranks draw different augmentations; the seed is recorded in
# checkpoints and restored on resume.
randomness = dict(seed=0, diff_rank_seed=True)

load_from = None
resume = False
