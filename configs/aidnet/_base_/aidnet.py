# The AIDNet recipe shared by configs/aidnet/aidnet_<set>.py, without a dataset.
# The release (cuiyixin555/AIDNet at de1a7f0, trainH_aid135.py / trainL_aid135.py with
# DerainDataset.py) trains with BRN's script (csdwren/RecDerain train.py) with only the
# generator swapped: negative SSIM loss, Adam lr 1e-3 (the --lr default; comment
# "1e-3L 5e-4H 5e-5R1400"), MultiStepLR [30, 50, 80] gamma 0.2 per epoch, 100 epochs,
# batch 12 of 100x100 patches cut with stride 100, 8 stages (--inter_iter 8, also
# test_AID.py's). So this file is configs/brn/_base_/brn.py with AIDNet as the arch,
# including its epochs -> iterations mapping and per-set loaders, lr steps and loops.
#
# Not reproduced: trainH_aid135.py / trainL_aid135.py build BRN(..., beta=1.0 / 0.5) and
# write images to opt.res_path, neither of which the released networks/generator_aid135.py
# and argument parser define; a `beta` has no counterpart here (see
# restorelab/models/archs/aidnet.py). The attention module differs per released model: this
# base uses the Rain100H one (CBAM, reduction 16); aidnet_rain100l.py sets the SE block.
_base_ = ['../../brn/_base_/brn.py']

model = dict(arch=dict(_delete_=True, type='AIDNet', recurrent_iter=_base_.recurrent_iter,
                       attention='cbam', reduction=16))
