"""DRSformer (projects/drsformer) against cschenxiang/DRSformer: ``basicsr/models/archs/
DRSformer_arch.py`` (with the two MEFCs: the Rain200H, DID-Data and DDN-Data models) and
``DRSformer_arch_200L+SPA.py`` (without: Rain200L and SPA-Data), both at the class defaults
their Options/Deraining.yml uses, the weights saved as BasicSR saves them
(``{'params': state_dict}``; the converter renames the MEFC keys). restorelab's DRSformer is
compared with ``fast=True`` (its default, the path configs and tools run) and with
``fast=False`` (the plain formulation that reads like the paper)."""
import torch

import projects.drsformer.drsformer  # noqa: F401  (registers the 'drsformer' converter)

from ._release import import_file

RELEASE = ('cschenxiang/DRSformer', 'e77bbb4ecc59aaa2cd170a0f8f65b188a9dd77c6')
CONVERTER = 'drsformer'
SIZES = [(64, 64), (48, 80)]  # multiples of 8 (three pixel-unshuffles)
_FILES = {True: 'basicsr/models/archs/DRSformer_arch.py',
          False: 'basicsr/models/archs/DRSformer_arch_200L+SPA.py'}
VARIANTS = {
    f'DRSformer{"" if mefc else " w/o MEFC"} ({"fast" if fast else "plain"})': dict(
        arch=dict(type='DRSformer', use_mefc=mefc, fast=fast), official=mefc)
    for mefc in (True, False) for fast in (True, False)
}


def build_official(release_dir, official):
    module = import_file(release_dir, _FILES[official],
                         module_name=f'_official_drsformer_{"mefc" if official else "no_mefc"}')
    return module.DRSformer()


def save_release_checkpoint(module, path):
    torch.save({'params': module.state_dict()}, path)
