"""FADformer plugin: importing this package registers the 'FADformer' arch and the
'FrequencyContrastiveLoss' (FCR) in restorelab's MODELS and the 'fadformer' checkpoint converter in
CHECKPOINT_CONVERTERS (enable it in a config with
``custom_imports = dict(imports=['projects.fadformer.fadformer'], allow_failed_imports=False)``).

Modules, named after the paper's parts: ``fourier`` (Fourier unit, Frequency-Domain Fusion), ``ffcm``
(FFCM), ``pgfn`` (PGFN, residue channel prior and its resampling), ``fadformer`` (FADBlock and the
network), ``fcr`` (the frequency-domain contrastive regularization), ``converter``.
"""
from .converter import convert_fadformer, infer_fadformer_arch, map_official_key, variant_name
from .fadformer import RELEASE_VARIANTS, FADBlock, FADformer, FADStage
from .fcr import FrequencyContrastiveLoss, frequency_contrastive_loss
from .ffcm import FusedFourierConvMixer
from .fourier import FourierUnit, FrequencyDomainFusion
from .pgfn import PriorDownsample, PriorGatedFeedForward, PriorUpsample, residue_channel_prior

__all__ = ['FADformer', 'FADBlock', 'FADStage', 'RELEASE_VARIANTS', 'FusedFourierConvMixer', 'FourierUnit',
           'FrequencyDomainFusion', 'PriorGatedFeedForward', 'PriorDownsample', 'PriorUpsample',
           'residue_channel_prior', 'FrequencyContrastiveLoss', 'frequency_contrastive_loss',
           'convert_fadformer', 'infer_fadformer_arch', 'map_official_key', 'variant_name']
