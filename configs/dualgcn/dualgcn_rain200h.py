# DualGCN trained on Rain200H with restorelab's recipe (_base_/dualgcn.py: the release has no
# training code). Scored with the dataset base's 'restormer' protocol.
# Train: python tools/train.py configs/dualgcn/dualgcn_rain200h.py
# Official weights (TrainedModel/model-Rain200H.index + .data-00000-of-00001 of the release):
#   python tools/convert_checkpoint.py dualgcn model-Rain200H.index dualgcn_rain200h.pth
_base_ = ['./_base_/dualgcn.py', '../_base_/datasets/rain200h.py']

train_dataloader = _base_.dualgcn_train_loader
