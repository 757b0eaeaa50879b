# DRSformer on Rain200H (1800 training pairs, heavy synthetic rain; restormer protocol). Train: python tools/train.py projects/drsformer/configs/drsformer_rain200h.py
_base_ = ['./_base_/drsformer_300k.py', '../../../configs/_base_/datasets/rain200h.py']

# 16 patches of 128x128 per iteration in total (see _base_/drsformer_300k.py).
train_dataloader = dict(batch_size=_base_.total_batch_size)
