# DRSformer on DDN-Data (12600 training pairs, 14 rain types per clean image; rcdnet protocol). Train: python tools/train.py projects/drsformer/configs/drsformer_ddn_data.py
_base_ = ['./_base_/drsformer_300k.py', '../../../configs/_base_/datasets/ddn_data.py']

# 16 patches of 128x128 per iteration in total (see _base_/drsformer_300k.py).
train_dataloader = dict(batch_size=_base_.total_batch_size)
