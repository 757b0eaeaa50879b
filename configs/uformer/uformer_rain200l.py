# Uformer-B trained on Rain200L with the recipe of _base_/uformer.py.
# That recipe, unchanged: Uformer's own (train/train_denoise.py) -- Charbonnier loss (eps 1e-3),
# AdamW lr 2e-4, betas (0.9, 0.999), weight decay 0.02, 3,600 warmup iterations then cosine
# to 1e-6, 300k iterations, batch 32 of 128x128 crops, the 8 flips/rotations. The Uformer
# release has no deraining recipe; see _base_/uformer.py for how this one was chosen.
# Only the dataset (and with it the evaluation protocol) comes from _base_/datasets/rain200l.py.
# Train: python tools/train.py configs/uformer/uformer_rain200l.py
_base_ = [
    './_base_/uformer.py',
    '../_base_/datasets/rain200l.py',
]

train_dataloader = _base_.uformer_train_loader
