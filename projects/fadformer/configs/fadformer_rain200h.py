# FADformer on Rain200H with the release's recipe (_base_/fadformer.py; configs/rain200/FADformer.json:
# batch 12, lr 1e-3, 800 epochs): 801 epochs of 1800 / 12 = 150 steps (120,150 steps), the lr a
# cosine from 1e-3 to 1e-5 over the first 800 epochs, stepped per epoch. Scored with the dataset
# base's 'restormer' protocol.
# Train: python tools/train.py projects/fadformer/configs/fadformer_rain200h.py
# Official weights (Baidu NetDisk, link in the release's README; a {'state_dict'} file):
#   python tools/convert_checkpoint.py fadformer FADformer_Rain200H.pth fadformer_rain200h.pth \
#       --check-config projects/fadformer/configs/fadformer_rain200h.py
_base_ = ['./_base_/fadformer.py', '../../../configs/_base_/datasets/rain200h.py']

epochs = 800  # the release's "epochs"; its loop trains one more, at eta_min

train_dataloader = _base_.fadformer_train_loader
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=epochs, eta_min=_base_.eta_min, by_epoch=True, begin=0, end=epochs + 1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs + 1, val_interval=1)
