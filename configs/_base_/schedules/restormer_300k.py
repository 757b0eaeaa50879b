# The schedule of the Restormer and DRSformer deraining releases: AdamW
# lr 3e-4, betas (0.9, 0.999), weight decay 1e-4, gradient norm clipped at 0.01,
# 300k iterations in two cycles of BasicSR's CosineAnnealingRestartCyclicLR
# (periods [92k, 208k], restart weights [1, 1], eta_mins [3e-4, 1e-6]): the first
# cycle anneals from 3e-4 to 3e-4 (constant), the second is a cosine from 3e-4 to
# 1e-6, lr(t) = 1e-6 + (3e-4 - 1e-6) * (1 + cos(pi * (t - 92k) / 208k)) / 2 for
# 0-based iteration t (the same t in the release and mmengine).
max_iters = 300000
val_interval = 1000

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    # use_grad_clip: true in both releases = clip_grad_norm_(params, 0.01) at every iteration.
    clip_grad=dict(max_norm=0.01, norm_type=2))

# Before `begin` the lr stays at the optimizer's 3e-4 (the constant cycle).
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=208000, eta_min=1e-6, by_epoch=False,
         begin=92000, end=300000),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
