# A tiny Restormer (dim 8, one block per level; 208,217 parameters) with the full recipe's
# structure, for tests and CPU smoke runs:
# python tools/train.py configs/restormer/restormer_tiny_rain200h.py \
#     --cfg-options train_cfg.max_iters=20 train_cfg.val_interval=10
_base_ = ['./restormer_rain200h.py']

model = dict(
    arch=dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4]))

total_batch_size = 2
train_dataloader = dict(batch_size=total_batch_size, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0)
test_dataloader = val_dataloader
