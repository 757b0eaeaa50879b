# SPANet on Rain200L with the recipe csdwren/RecDerain's "RainLight" model shows: the release's
# main.py (_base_/spanet.py: batch 16 of 256x256 random resized crops of the whole images,
# L1 + (1 - SSIM) + attention-map MSE, Adam 5e-3, 40,001 iterations) with the lr held at 5e-3:
# the optimizer state saved in RecDerain's file records lr 5e-3 at its step 40,000 (main.py's
# step at 30,000 did not take effect there). RecDerain ships no SPANet code (README.md).
# Scored with the dataset base's 'restormer' protocol, as the DRSformer paper scores Rain200L;
# the BRN paper scored RainLight with its MATLAB statistic_RainLight.m, the 'rcdnet' protocol: to
# compare with its numbers, add to tools/test.py
#   --cfg-options test_evaluator.0.protocol=rcdnet test_evaluator.1.protocol=rcdnet
# Train: python tools/train.py configs/spanet/spanet_rain200l.py
# RecDerain's weights: python tools/convert_checkpoint.py spanet logs/RainLight/SPANet/latest spanet_rain200l.pth
_base_ = ['./_base_/spanet.py', '../_base_/datasets/rain200l.py']

train_dataloader = _base_.spanet_train_loader
param_scheduler = []
