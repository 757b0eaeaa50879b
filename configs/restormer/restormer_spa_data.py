# Restormer on SPA-Data with the recipe in _base_/restormer.py. The release trains one model on
# Rain13K; DRSformer retrains Restormer per benchmark set with this recipe, as this config does.
# Train: python tools/train.py configs/restormer/restormer_spa_data.py
_base_ = ['./_base_/restormer.py', '../_base_/datasets/spa_data.py']

train_dataloader = dict(batch_size=_base_.total_batch_size)
