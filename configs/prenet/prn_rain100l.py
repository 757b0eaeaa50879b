# PRN (PReNet without the LSTM, 6 stages) on Rain100L with the release's recipe (csdwren/PReNet,
# train_PRN.py, train_PRN.sh), which is PReNet's: the release's train_PRN.py differs from
# train_PReNet.py only in the model class (and in reusing the patch files that train_PReNet.py
# --preprocess True cut), so everything else comes from prenet_rain100l.py: negative SSIM loss,
# Adam lr 1e-3, MultiStepLR milestones [30, 50, 80] gamma 0.2, 100 epochs, batch 18 of 100x100
# patches, and the differences from the release listed there.
# Train: python tools/train.py configs/prenet/prn_rain100l.py
# Released weights by name: python tools/derain.py prn_rain100l photo.jpg (docs/model_zoo.md)
# Official weights: python tools/convert_checkpoint.py prn logs/Rain100L/PRN6/net_latest.pth prn_rain100l.pth
_base_ = ['./prenet_rain100l.py']

model = dict(arch=dict(type='PRN'))
