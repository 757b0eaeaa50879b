# DualGCN trained on Rain200L with restorelab's recipe (_base_/dualgcn.py: the release has no
# training code). Scored with the dataset base's 'restormer' protocol.
# Train: python tools/train.py configs/dualgcn/dualgcn_rain200l.py
# Official weights (TrainedModel/model-Rain200L.index + .data-00000-of-00001 of the release):
#   python tools/convert_checkpoint.py dualgcn model-Rain200L.index dualgcn_rain200l.pth
_base_ = ['./_base_/dualgcn.py', '../_base_/datasets/rain200l.py']

train_dataloader = _base_.dualgcn_train_loader
