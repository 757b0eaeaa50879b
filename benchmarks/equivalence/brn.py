"""BRN against csdwren/RecDerain ``generator.py`` (class ``BRN``, 8 stages as its test_BRN.py
builds it), weights saved as its train.py saves them: a plain state_dict that still holds the
unused ``res_conv4_r``/``res_conv5_r`` blocks, which the converter drops. The release returns
``(x_T, [x_1..x_T], r_T, [r_1..r_T])``; its test script keeps ``x_T``, compared here. Its
forward's zero LSTM states are float32 whatever the input: in the float64 run ``torch.cat``
promotes them (exact zeros), so no change to the release is needed."""
from ._release import import_file, stub_modules

RELEASE = ('csdwren/RecDerain', '5b2ad01d41d3b0cd251d0b4033071b796f234cac')
CONVERTER = 'brn'
SIZES = [(48, 48), (40, 56)]
VARIANTS = {
    'BRN': dict(arch=dict(type='BRN', recurrent_iter=8), official=8),
}


def build_official(release_dir, official):
    stub_modules('torchvision', 'cv2')
    generator = import_file(release_dir, 'generator.py', module_name='_official_brn_generator')
    return generator.BRN(recurrent_iter=official, use_GPU=False)
