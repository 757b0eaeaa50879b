# Restormer on Rain200H with the release's deraining recipe (swz30/Restormer), which lives in
# _base_/restormer.py (loss, optimizer, schedule, batch, the difference from the release).
# Train: python tools/train.py configs/restormer/restormer_rain200h.py
# Official weights: python tools/convert_checkpoint.py restormer deraining.pth restormer_deraining.pth
_base_ = ['./_base_/restormer.py', '../_base_/datasets/rain200h.py']

train_dataloader = dict(batch_size=_base_.total_batch_size)
