# MPRNet (deraining widths) on Rain13K with the release's recipe, which lives in _base_/mprnet.py
# (loss over the three stages, optimizer, per-epoch schedule, crops, augmentation, differences
# from the release). Validated and tested on Rain100L, as the release validates; the other four
# test sets through the --cfg-options of _base_/datasets/rain13k.py.
# Train: python tools/train.py configs/mprnet/mprnet_rain13k.py
# Official weights (model_deraining.pth, Google Drive):
#   python tools/convert_checkpoint.py mprnet model_deraining.pth mprnet_rain13k.pth \
#       --check-config configs/mprnet/mprnet_rain13k.py
_base_ = ['./_base_/mprnet.py', '../_base_/datasets/rain13k.py']

train_dataloader = _base_.mprnet_train_loader
