# NeRD-Rain (model.py, dim 48) on DID-Data; the release's recipe: _base_/nerd_rain_3000ep.py.
# Train: python tools/train.py projects/nerd_rain/configs/nerd_rain_did_data.py
# Official weights: python tools/convert_checkpoint.py nerd_rain <file>.pth nerd_rain_did_data.pth \
#     --check-config projects/nerd_rain/configs/nerd_rain_did_data.py
_base_ = ['./_base_/nerd_rain_3000ep.py', '../../../configs/_base_/datasets/did_data.py']

train_dataloader = _base_.nerd_rain_train_loader
