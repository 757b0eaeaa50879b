# A reduced Uformer (windows of 4, so inputs pad to multiples of 64) for the quickstart demo.
_base_ = ['./_base_demo.py']
model = dict(
    type='ImageRestorer',
    arch=dict(type='Uformer', img_size=64, embed_dim=8, depths=[1, 1, 1, 1, 1, 1, 1, 1, 1],
              num_heads=[1, 1, 2, 2, 4, 4, 2, 2, 1], win_size=4, drop_path_rate=0.0),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='RestorationDataPreprocessor'))
