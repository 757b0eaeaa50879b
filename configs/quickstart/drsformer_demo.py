# A reduced DRSformer (the plugin in projects/drsformer) for the quickstart demo: dim 16, one
# block per level and no MEFC (as the release trains Rain200L), which costs 2.5x the time on CPU.
_base_ = ['./_base_demo.py']
custom_imports = dict(imports=['projects.drsformer.drsformer'], allow_failed_imports=False)
model = dict(
    type='ImageRestorer',
    arch=dict(type='DRSformer', dim=16, num_blocks=[1, 1, 1, 1], heads=[1, 1, 2, 2],
              ffn_expansion_factor=2.0, use_mefc=False),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))
