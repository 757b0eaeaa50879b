# SPANet trained on SPA-Data's real rain pairs with the release's recipe (_base_/spanet.py):
# 40,001 iterations of batch 16 of 256x256 random resized crops, L1 + (1 - SSIM) + attention-map
# MSE, Adam 5e-3, lr x0.1 at iteration 29,999. The released model/latest records another lr in
# its optimizer state (initial 5e-4, 5e-5 at its step 40,000): README.md says more.
# Scored with the dataset base's 'restormer' protocol, as the DRSformer paper scores SPA-Data;
# the release scores with skimage.measure on the three channels (no restorelab protocol).
# Train: python tools/train.py configs/spanet/spanet_spa_data.py
# Official weights: python tools/convert_checkpoint.py spanet model/latest spanet_spa_data.pth
_base_ = ['./_base_/spanet.py', '../_base_/datasets/spa_data.py']

train_dataloader = _base_.spanet_train_loader
