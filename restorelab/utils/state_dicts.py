"""How a checkpoint's weights differ from a model's: one description for every loader
(restorelab's checkpoint loading, the converters' checks and the checkpoint-fit hook)."""


def state_dict_mismatch(expected, loaded, show=5):
    """Describe how ``loaded`` (name -> tensor) differs from ``expected``
    (a model's ``state_dict()``): missing and unexpected keys and shape
    mismatches, each with its first ``show`` names; '' when it fits."""
    missing = [k for k in expected if k not in loaded]
    unexpected = [k for k in loaded if k not in expected]
    shapes = [f'{k}: checkpoint {tuple(loaded[k].shape)} vs model {tuple(v.shape)}'
              for k, v in expected.items()
              if k in loaded and hasattr(loaded[k], 'shape') and tuple(loaded[k].shape) != tuple(v.shape)]
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing keys (first: {", ".join(missing[:show])})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected keys (first: {", ".join(unexpected[:show])})')
    if shapes:
        parts.append(f'{len(shapes)} shape mismatches ({"; ".join(shapes[:show])})')
    return '; '.join(parts)
