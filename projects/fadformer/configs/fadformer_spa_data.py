# FADformer on SPA-Data with the release's recipe (_base_/fadformer.py; train_spa.py and
# configs/spa/FADformer.json: batch 12, lr 1e-3, "epochs" 6, iter_num 1000). The release runs
# 6 + 1 = 7 passes over the 638,492 training pairs, 53,207 steps each (372,449 steps), and steps its
# CosineAnnealingLR(T_max = 6 x (638492 // 12000) = 318, eta_min 1e-5) after every 1000th step of a
# pass (53 times a pass): the lr falls to 1e-5 at the 318th scheduler step and, as PyTorch's cosine
# continues past T_max, climbs back to 7.6e-5 by the last. Here the same cosine runs per step,
# T_max = 318,000 steps over the same 372,449 steps: the lrs differ by at most 7.9e-6 (a test computes
# both). The release validates every 1000 steps from its fourth pass on (step 159,621) and not before;
# so do these settings.
# Scored with the dataset base's 'restormer' protocol.
# Train: python tools/train.py projects/fadformer/configs/fadformer_spa_data.py
# Official weights (Baidu NetDisk, link in the release's README; a {'state_dict'} file):
#   python tools/convert_checkpoint.py fadformer FADformer_SPA.pth fadformer_spa_data.pth \
#       --check-config projects/fadformer/configs/fadformer_spa_data.py
_base_ = ['./_base_/fadformer.py', '../../../configs/_base_/datasets/spa_data.py']

train_pairs = 638492  # the count train_spa.py's T_max is computed from
steps_per_pass = train_pairs // _base_.total_batch_size  # 53,207 (last partial batch dropped)
passes = 6 + 1
max_iters = passes * steps_per_pass  # 372,449
scheduler_every = 1000  # iter_num
t_max = 6 * (train_pairs // (_base_.total_batch_size * scheduler_every)) * scheduler_every  # 318,000 steps
first_validation = 3 * steps_per_pass  # 159,621: the release validates from its fourth pass on
val_every = 1000

# The loader reads the pairs as a stream (restorelab's InfiniteSampler, the dataset base's): resuming
# does not re-read what was trained. Passes are not marked; the schedule counts steps.
train_dataloader = dict(
    batch_size=_base_.total_batch_size,
    dataset=_base_.fadformer_train_loader['dataset'])
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=t_max, eta_min=_base_.eta_min, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=first_validation,
                 dynamic_intervals=[(first_validation, val_every)])

# Iteration-based like the rest of restorelab (undoing the base's per-epoch logging and checkpoints).
default_hooks = dict(
    checkpoint=dict(interval=_base_.checkpoint_interval, by_epoch=False),
    logger=dict(log_metric_by_epoch=False))
log_processor = dict(by_epoch=False)
