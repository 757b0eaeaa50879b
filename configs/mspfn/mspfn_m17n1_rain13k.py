# MSPFN as released (kuijiang94/MSPFN, model/TEST_MSPFN_M17N1.py: 17 FFMs with one channel
# attention unit per scale, 15,823,424 parameters), with the recipe of _base_/mspfn.py; this is
# the config of the released weights (Google Drive; by name: mspfn_m17n1_rain13k), e.g.
#   python tools/convert_checkpoint.py mspfn MSPFN mspfn_m17n1_rain13k.pth \
#     --check-config configs/mspfn/mspfn_m17n1_rain13k.py
#   python tools/test.py configs/mspfn/mspfn_m17n1_rain13k.py mspfn_m17n1_rain13k.pth
_base_ = ['./_base_/mspfn.py', '../_base_/datasets/rain13k.py']

model = dict(arch=dict(num_caus=(1, 1, 1)))
train_dataloader = _base_.mspfn_train_loader
