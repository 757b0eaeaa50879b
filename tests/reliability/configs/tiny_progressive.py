# tiny_faults.py with progressive learning (two stages of 3 iterations: 16-pixel patches, 2 per
# process, then 24-pixel patches, 1 per process), as the release's recipe changes size and batch.
_base_ = ['tiny_faults.py']
custom_hooks = [
    dict(type='FaultHook'),
    dict(type='ProgressiveLearningHook', stage_iters=[3, 3], patch_sizes=[16, 24], batch_sizes=[2, 1]),
]
