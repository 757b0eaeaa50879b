# A reduced PReNet (3 recurrent stages instead of 6) for the quickstart demo.
_base_ = ['./_base_demo.py']
model = dict(
    type='ImageRestorer',
    arch=dict(type='PReNet', recurrent_iter=3),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))
