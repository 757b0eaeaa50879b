# A tiny IDT (embed_dim 4, one window block per level, 2x2 windows and spatial windows;
# 232,379 parameters) with the full recipe's structure, for tests and CPU smoke runs:
# python tools/train.py configs/idt/idt_tiny_rain200h.py --cfg-options \
#     train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#     test_dataloader.dataset.data_root=DIR train_cfg.max_epochs=2
_base_ = ['./idt_rain200h.py']

img_size = 32
model = dict(
    arch=dict(img_size=img_size, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1],
              win_size=2, spatial_win_size=2, spatial_k_bounds=(4, 4, 2, 2, 2, 2, 4, 4)),
    test_cfg=dict(tile=img_size, tile_overlap=8))

train_patch_size = img_size
total_batch_size = 2
max_epochs = 2
val_interval = 1
train_dataloader = dict(
    batch_size=total_batch_size, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=[
        *_base_.load_pair_pipeline,
        dict(type='PairedRandomCrop', patch_size=train_patch_size),
        *_base_.flip_pipeline,
        dict(type='PackInputs'),
    ]))
val_dataloader = dict(num_workers=0)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=max_epochs, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
