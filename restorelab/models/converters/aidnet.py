"""Converter for cuiyixin555/AIDNet checkpoints (``logs/<set>/AID_location135/net_latest.pth``:
a plain state_dict saved from DataParallel, ``module.`` prefixes removed by the loader)."""
from .brn import drop_unused_rain_blocks
from .official import register_converter


@register_converter('aidnet', arch_type='AIDNet')
def convert_aidnet(state_dict):
    """Official AIDNet keys -> restorelab ``AIDNet`` keys: BRN's names plus the attention
    module's (``cbam_module.*`` in the Rain100H release, ``seblock.*`` in the Rain100L
    one), unchanged; the unused ``res_conv4_r``/``res_conv5_r`` are dropped.

    The default ``AIDNet`` is the Rain100H model (CBAM, reduction 16); the Rain100L file
    fits ``AIDNet(attention='se', reduction=2)``: convert it with
    ``--check-config configs/aidnet/aidnet_rain100l.py``."""
    return drop_unused_rain_blocks(state_dict)
