# DRSformer on DID-Data (12000 training pairs, three rain densities; rcdnet protocol). Train: python tools/train.py projects/drsformer/configs/drsformer_did_data.py
_base_ = ['./_base_/drsformer_300k.py', '../../../configs/_base_/datasets/did_data.py']

# 16 patches of 128x128 per iteration in total (see _base_/drsformer_300k.py).
train_dataloader = dict(batch_size=_base_.total_batch_size)
