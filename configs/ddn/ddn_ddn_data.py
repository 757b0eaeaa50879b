# DDN on DDN-Data (Rain14000: the release's own data set, 14 rain renderings of each clean
# image) with the release's recipe (CVPR17_training_code/training.py), which lives in
# _base_/ddn.py. Scored with the 'rcdnet' protocol, as DRSformer's Table 1 scores DDN-Data.
# Train: python tools/train.py configs/ddn/ddn_ddn_data.py
# Official weights (the release's TensorFlow model, read without TensorFlow):
#   python tools/convert_checkpoint.py ddn CVPR17_training_code.zip ddn_ddn_data.pth
#   (or CVPR17_training_code/model/trained/model.index once unpacked)
_base_ = ['./_base_/ddn.py', '../_base_/datasets/ddn_data.py']

train_dataloader = _base_.ddn_train_loader
