# Uformer-B on Rain200H with the recipe in _base_/uformer.py (Uformer's own training recipe,
# 300k iterations; that file says how it was chosen and what is not reproduced).
# Train: python tools/train.py configs/uformer/uformer_rain200h.py
# Official weights: python tools/convert_checkpoint.py uformer Uformer_B.pth uformer.pth
_base_ = [
    './_base_/uformer.py',
    '../_base_/datasets/rain200h.py',
]

train_dataloader = _base_.uformer_train_loader
