# Restormer on DID-Data with the recipe of restormer_rain200h.py (swz30/Restormer,
# Deraining/Options/Deraining_Restormer.yml): L1 loss, AdamW lr 3e-4, betas (0.9, 0.999),
# weight decay 1e-4, grad-norm clip 0.01, 300k iterations (constant 3e-4 for 92k, then
# cosine to 1e-6 over 208k), 64 patches of 128x128 per iteration, the 8 flips/rotations.
# The release trains one model on Rain13K; DRSformer retrains Restormer per benchmark set
# with this recipe, as this config does. Same difference from the release as
# restormer_rain200h.py: fixed 128x128 patches instead of progressive learning.
# Train: python tools/train.py configs/restormer/restormer_did_data.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/did_data.py',
    '../_base_/schedules/restormer_300k.py',
]

model = dict(
    type='ImageRestorer',
    arch=dict(
        type='Restormer',
        inp_channels=3,
        out_channels=3,
        dim=48,
        num_blocks=[4, 6, 6, 8],
        num_refinement_blocks=4,
        heads=[1, 2, 4, 8],
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias',
        dual_pixel_task=False),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))

# tools/train.py splits total_batch_size evenly over the processes.
total_batch_size = 64
train_dataloader = dict(batch_size=total_batch_size)
