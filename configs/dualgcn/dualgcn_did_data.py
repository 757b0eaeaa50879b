# DualGCN trained on DID-Data with restorelab's recipe (_base_/dualgcn.py: the release has no
# training code). Scored with the dataset base's 'rcdnet' protocol.
# Train: python tools/train.py configs/dualgcn/dualgcn_did_data.py
# Official weights (TrainedModel/model-DID.index + .data-00000-of-00001 of the release):
#   python tools/convert_checkpoint.py dualgcn model-DID.index dualgcn_did_data.pth
_base_ = ['./_base_/dualgcn.py', '../_base_/datasets/did_data.py']

train_dataloader = _base_.dualgcn_train_loader
