# A reduced Restormer for the quickstart demo (see _base_demo.py).
_base_ = ['./_base_demo.py']
model = dict(
    type='ImageRestorer',
    arch=dict(type='Restormer', dim=16, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
              heads=[1, 1, 2, 2], ffn_expansion_factor=2.0),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))
