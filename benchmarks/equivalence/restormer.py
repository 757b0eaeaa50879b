"""Restormer against swz30/Restormer ``basicsr/models/archs/restormer_arch.py`` at the
deraining model's options (Deraining/Options/Deraining_Restormer.yml: the class defaults),
the weights saved as BasicSR saves them (``{'params': state_dict}``). restorelab's Restormer
is compared with ``fast=True`` (its default, the path configs and tools run) and with
``fast=False`` (the plain formulation that reads like the paper)."""
import torch

from ._release import import_file

RELEASE = ('swz30/Restormer', 'df766d5521afd21cce56e24159f300b30ebf3fb0')
CONVERTER = 'restormer'
SIZES = [(64, 64), (48, 80)]  # multiples of 8 (three pixel-unshuffles)
VARIANTS = {
    'Restormer (fast)': dict(arch=dict(type='Restormer', fast=True), official=None),
    'Restormer (plain)': dict(arch=dict(type='Restormer', fast=False), official=None),
}


def build_official(release_dir, official):
    module = import_file(release_dir, 'basicsr/models/archs/restormer_arch.py',
                         module_name='_official_restormer')
    return module.Restormer()


def save_release_checkpoint(module, path):
    torch.save({'params': module.state_dict()}, path)
