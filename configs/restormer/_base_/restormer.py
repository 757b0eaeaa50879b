# The Restormer recipe shared by configs/restormer/restormer_<set>.py, without a dataset: each of
# those lists this file and a dataset base and sets the training loader's batch to
# total_batch_size.
# Restormer with the release's deraining recipe (swz30/Restormer,
# Deraining/Options/Deraining_Restormer.yml): L1 loss, AdamW lr 3e-4, betas (0.9, 0.999),
# weight decay 1e-4, grad-norm clip 0.01, 300k iterations (constant 3e-4 for 92k, then
# cosine to 1e-6 over 208k; _base_/schedules/restormer_300k.py), 8 patches per GPU on 8 GPUs
# = 64 per iteration, the 8 flips/rotations of the dataset bases' pipeline.
#
# Difference from the release: it trains with progressive patches (128 -> 384 with batches
# 8 -> 1 per GPU over 6 stages); these configs train on fixed 128x128 patches (the release's
# own commented-out "single fixed-patch size" option). ProgressiveLearningHook gives the
# release's schedule (configs/restormer/README.md).
_base_ = [
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/restormer_300k.py',
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

# tools/train.py splits total_batch_size evenly over the processes; each restormer_<set>.py
# sets the loader's own batch_size (the single-process value) to it.
total_batch_size = 64
