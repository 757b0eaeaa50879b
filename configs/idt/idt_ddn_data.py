# IDT trained on DDN-Data with the recipe of _base_/idt.py (jiexiaou/IDT, train_derain.py).
# That recipe, unchanged: negative SSIM loss, Adam lr 1e-4, MultiStepLR [100, 250, 350]
# gamma 0.1 per epoch, 400 epochs, batch 4 of 128x128 random crops (one per image per
# epoch), up-down / left-right flips with probability 1/4 each; tiled testing (128, overlap
# 20). See _base_/idt.py for the differences from the release.
# Only the dataset (and with it the evaluation protocol) comes from _base_/datasets/ddn_data.py.
# Note: 400 epochs of DDN-Data's 12600 rainy images are 1.26M iterations at batch 4.
# Train: python tools/train.py configs/idt/idt_ddn_data.py
_base_ = [
    './_base_/idt.py',
    '../_base_/datasets/ddn_data.py',
]

train_dataloader = _base_.idt_train_loader
