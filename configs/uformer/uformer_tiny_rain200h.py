# A tiny Uformer (embed_dim 4, one block per level, 2x2 windows with modulators;
# 201,925 parameters) with the full recipe's structure, for tests and CPU smoke runs:
# python tools/train.py configs/uformer/uformer_tiny_rain200h.py --cfg-options \
#     train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#     test_dataloader.dataset.data_root=DIR train_cfg.max_iters=4 train_cfg.val_interval=2
_base_ = ['./uformer_rain200h.py']

img_size = 32
model = dict(
    arch=dict(img_size=img_size, embed_dim=4, depths=[1] * 9, num_heads=[1, 1, 2, 2, 4, 4, 2, 1, 1],
              win_size=2))

total_batch_size = 2
train_dataloader = dict(
    batch_size=total_batch_size, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=[
        *_base_.load_pair_pipeline,
        dict(type='PairedRandomCrop', patch_size=img_size),
        *_base_.augment_pipeline,
        dict(type='PackInputs'),
    ]))
val_dataloader = dict(num_workers=0)
test_dataloader = val_dataloader
