# default_runtime.py for a recipe trained by epochs, as its release was: logging and checkpoints
# (every epoch) counted in epochs instead of iterations. The recipe sets its loop itself:
#     _base_ = ['../../_base_/epoch_runtime.py']
#     train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=250, val_interval=5)
# (A schedules/ file cannot hold this: it would set default_hooks beside default_runtime.py's,
# and mmengine refuses a key that two bases of one config both set.)
_base_ = ['./default_runtime.py']

val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(interval=1, by_epoch=True),
    logger=dict(log_metric_by_epoch=True))
log_processor = dict(by_epoch=True)
