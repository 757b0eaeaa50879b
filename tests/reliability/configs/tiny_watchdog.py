# tests/reliability/configs/tiny_faults.py whose training data can stop yielding in a
# DataLoader worker (StallDataOnce, given the work dir with --cfg-options
# train_dataloader.dataset.pipeline.0.work_dir=DIR), with one worker per process.
_base_ = ['./tiny_faults.py']
train_dataloader = dict(
    num_workers=1, persistent_workers=True,
    dataset=dict(pipeline=[dict(type='StallDataOnce'), *_base_.train_dataloader.dataset.pipeline]))
