# FADformer_mini (the release's second constructor: dim 24, depths 2-3-4-3-2; not in the paper, no
# released weights) on Rain200H with the release's recipe for it (configs/rain200/FADformer_mini.json:
# batch 8, lr 1e-3, 300 epochs): 301 epochs of 1800 / 8 = 225 steps, the per-epoch cosine to 1e-5.
# 8 per step over 4 GPUs is 2 per GPU: batch_size_per_process = 2. Other sets: swap the dataset base.
# Train: python tools/train.py projects/fadformer/configs/fadformer_mini_rain200h.py
# A FADformer_mini checkpoint of the release converts with --check-config pointing here.
_base_ = ['./_base_/fadformer.py', '../../../configs/_base_/datasets/rain200h.py']

epochs = 300
total_batch_size = 8
batch_size_per_process = 2

model = dict(arch=dict(dim=24, depths=[2, 3, 4, 3, 2]))
train_dataloader = dict(_base_.fadformer_train_loader, batch_size=total_batch_size)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=epochs, eta_min=_base_.eta_min, by_epoch=True, begin=0, end=epochs + 1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs + 1, val_interval=1)
