# DualGCN trained on SPA-Data with restorelab's recipe (_base_/dualgcn.py: the release has no
# training code). Scored with the dataset base's 'restormer' protocol.
# Train: python tools/train.py configs/dualgcn/dualgcn_spa_data.py
# Official weights (TrainedModel/model-SPA.index + .data-00000-of-00001 of the release):
#   python tools/convert_checkpoint.py dualgcn model-SPA.index dualgcn_spa_data.pth
_base_ = ['./_base_/dualgcn.py', '../_base_/datasets/spa_data.py']

train_dataloader = _base_.dualgcn_train_loader
