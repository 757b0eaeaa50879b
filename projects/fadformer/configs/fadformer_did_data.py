# FADformer on DID-Data with the release's recipe (_base_/fadformer.py; train_DID.py and
# configs/did/FADformer.json: batch 12, lr 1e-3, 500 epochs): 501 epochs of 12000 / 12 = 1000 steps
# (501,000 steps), the lr a cosine from 1e-3 to 1e-5 over the first 500 epochs, stepped per
# epoch. Scored with the dataset base's 'rcdnet' protocol (the release's README: DID and DDN results
# are scored with MATLAB code, as DRSformer's).
# Train: python tools/train.py projects/fadformer/configs/fadformer_did_data.py
# Official weights (Baidu NetDisk, link in the release's README; a {'state_dict'} file):
#   python tools/convert_checkpoint.py fadformer FADformer_DID.pth fadformer_did_data.pth \
#       --check-config projects/fadformer/configs/fadformer_did_data.py
_base_ = ['./_base_/fadformer.py', '../../../configs/_base_/datasets/did_data.py']

epochs = 500  # the release's "epochs"; its loop trains one more, at eta_min

train_dataloader = _base_.fadformer_train_loader
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=epochs, eta_min=_base_.eta_min, by_epoch=True, begin=0, end=epochs + 1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs + 1, val_interval=1)
