# DRSformer on SPA-Data (real rain, 638k training pairs; restormer protocol). Train: python tools/train.py projects/drsformer/configs/drsformer_spa_data.py
_base_ = ['./_base_/drsformer_300k.py', '../../../configs/_base_/datasets/spa_data.py']

# 16 patches of 128x128 per iteration in total (see _base_/drsformer_300k.py).
train_dataloader = dict(batch_size=_base_.total_batch_size)

# As in the release (DRSformer_arch_200L+SPA.py) and the paper: no MEFC for this set.
use_mefc = False
model = dict(arch=dict(use_mefc=use_mefc))
