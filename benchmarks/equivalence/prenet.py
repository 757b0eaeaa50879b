"""PReNet and its variants against csdwren/PReNet ``networks.py`` (plain state_dicts)."""
from ._release import import_file, stub_modules

RELEASE = ('csdwren/PReNet', '6d908d1e3c7ff5c26fee624112297ad1c8603ca7')
CONVERTER = 'prenet'
SIZES = [(48, 48), (40, 56)]
VARIANTS = {
    'PReNet': dict(arch=dict(type='PReNet', recurrent_iter=3), official=('PReNet', 3)),
}


def build_official(release_dir, official):
    stub_modules('torchvision')
    networks = import_file(release_dir, 'networks.py')
    cls, iterations = official
    return getattr(networks, cls)(recurrent_iter=iterations, use_GPU=False)
