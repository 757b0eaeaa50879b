"""FADformer against deng-ai-lab/FADformer ``models/FADformer.py`` (its ``FADformer()`` and
``FADformer_mini()`` constructors), the weights saved as its train_*.py save them
(``{'state_dict': ...}`` of an ``nn.DataParallel``: ``module.`` prefixes). Batch-norm running
statistics are redrawn with the weights; both modules run in eval mode."""
import projects.fadformer.fadformer  # noqa: F401  (registers the 'fadformer' converter)

from ._release import import_file

RELEASE = ('deng-ai-lab/FADformer', '75a883580dfebf29b70a40191a92a6d0d348b263')
CONVERTER = 'fadformer'
# Multiples of 4 (two pixel-unshuffles); 44x76 is 11x19 at 1/4 resolution: odd sizes through
# rfft2/irfft2 in both directions.
SIZES = [(64, 64), (44, 76)]
VARIANTS = {
    'FADformer': dict(arch=dict(type='FADformer'), official='FADformer'),
    'FADformer_mini': dict(arch=dict(type='FADformer', dim=24, depths=(2, 3, 4, 3, 2)),
                           official='FADformer_mini'),
}


def build_official(release_dir, official):
    module = import_file(release_dir, 'models/FADformer.py', module_name='_official_fadformer')
    return getattr(module, official)()


def save_release_checkpoint(module, path):
    import torch
    torch.save({'state_dict': {f'module.{k}': v for k, v in module.state_dict().items()}}, path)
