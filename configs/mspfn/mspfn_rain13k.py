# MSPFN on Rain13K with the release's recipe (kuijiang94/MSPFN, model/train_MSPFN.py): the
# network of model/MSPFN.py (17 FFMs, 3/3/1 channel attention units at scales 1, 1/2, 1/4,
# 20,995,776 parameters). The recipe and the choices the release leaves open live in
# _base_/mspfn.py. Validated and tested on Rain100L; the other four test sets through the
# --cfg-options of _base_/datasets/rain13k.py.
# Train: python tools/train.py configs/mspfn/mspfn_rain13k.py
# A checkpoint train_MSPFN.py saved: python tools/convert_checkpoint.py mspfn MSPFN/epoch50.index
#   mspfn_rain13k.pth --check-config configs/mspfn/mspfn_rain13k.py
_base_ = ['./_base_/mspfn.py', '../_base_/datasets/rain13k.py']

train_dataloader = _base_.mspfn_train_loader
