# PReNet_r (PReNet with one residual block applied five times, 6 stages) on Rain100H with the
# release's recipe (csdwren/PReNet, train_PReNet_r.py, train_PReNet_r.sh), which is PReNet's: the
# release's train_PReNet_r.py differs from train_PReNet.py only in the model class (and in reusing
# the patch files that train_PReNet.py --preprocess True cut), so everything else comes from
# prenet_rain100h.py: negative SSIM loss, Adam lr 1e-3, MultiStepLR milestones [30, 50, 80] gamma
# 0.2, 100 epochs, batch 18 of 100x100 patches, and the differences from the release listed there.
# Train: python tools/train.py configs/prenet/prenet_r_rain100h.py
# Released weights by name: python tools/derain.py prenet_r_rain100h photo.jpg (docs/model_zoo.md)
# Official weights: python tools/convert_checkpoint.py prenet_r logs/Rain100H/PReNet6_r/net_latest.pth prenet_r_rain100h.pth
_base_ = ['./prenet_rain100h.py']

model = dict(arch=dict(type='PReNet_r'))
