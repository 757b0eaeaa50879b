# IDT on Rain200H with the release's recipe (jiexiaou/IDT, train_derain.py), which lives in
# _base_/idt.py (loss, optimizer, schedule, crops, flips, tiled testing, differences).
# Train: python tools/train.py configs/idt/idt_rain200h.py
# Official weights: python tools/convert_checkpoint.py idt net_latest.pth idt_rain200h.pth
_base_ = [
    './_base_/idt.py',
    '../_base_/datasets/rain200h.py',
]

train_dataloader = _base_.idt_train_loader
