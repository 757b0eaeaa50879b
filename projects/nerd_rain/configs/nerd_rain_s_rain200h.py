# NeRD-Rain-S (model_S.py, dim 32) on Rain200H; the release's recipe: _base_/nerd_rain_3000ep.py.
# Train: python tools/train.py projects/nerd_rain/configs/nerd_rain_s_rain200h.py
# Official weights: python tools/convert_checkpoint.py nerd_rain <file>.pth nerd_rain_s_rain200h.pth \
#     --check-config projects/nerd_rain/configs/nerd_rain_s_rain200h.py
_base_ = ['./_base_/nerd_rain_3000ep.py', '../../../configs/_base_/datasets/rain200h.py']

dim = 32
model = dict(arch=dict(dim=dim))
train_dataloader = _base_.nerd_rain_train_loader
