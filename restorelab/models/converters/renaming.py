"""Shared steps of the converters that rename an official state_dict's keys onto an arch built
from the file's own shapes (the DRSformer and NeRD-Rain plugins): each model keeps its own key
mapping, and these check the input, apply rename rules and report what does not fit.

Their errors are ``ValueError`` starting with ``'<Model> converter: '``; the loader
(:mod:`.official`) checks the result once more against the arch it was asked for.
"""
import torch


def apply_rules(key, rules, default=None):
    """``rename(match.groupdict())`` of the first ``(compiled pattern, rename)`` in ``rules`` whose
    pattern matches ``key`` at its start; ``default`` when none does."""
    for pattern, rename in rules:
        match = pattern.match(key)
        if match:
            return rename(match.groupdict())
    return default


def require_tensor_dict(state_dict, converter, source):
    """Refuse anything but a ``{name: tensor}`` dict, naming ``source`` (where the converter's
    input comes from in the release's file, e.g. 'the "params" dict')."""
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f'{converter} converter: expected a dict of tensors ({source} of an official '
                         f'checkpoint), got {type(state_dict).__name__}')


def required_tensors(state_dict, keys, converter, what, expected):
    """``[state_dict[k] for k in keys]``; a missing key is refused as not being ``what`` (e.g.
    'a NeRD-Rain state_dict'), naming the first keys seen and what was ``expected``."""
    try:
        return [state_dict[key] for key in keys]
    except KeyError as err:
        raise ValueError(
            f'{converter} converter: key {err} not found; this is not {what}. '
            f'First keys seen: {sorted(state_dict)[:5]}. Expected {expected}.') from None


def short_list(items, limit=20):
    """``items`` joined by commas, the first ``limit`` only (with how many more); '-' when empty."""
    items = list(items)
    return ', '.join(items[:limit]) + (f', ... ({len(items) - limit} more)' if len(items) > limit else '') or '-'


def rename_checked(state_dict, map_key, arch_cls, config, converter, advice):
    """``{map_key(k): v}`` for an official ``state_dict``, checked against ``arch_cls(**config)``
    (built on the meta device: shapes only, no memory): every official key must map (``map_key``
    returns None for a key with no counterpart) onto a parameter of the same shape, and every
    parameter must be covered. Otherwise a ValueError lists the missing (our names), unexpected
    (official names) and mis-shaped keys, then ``advice`` (which file to pass)."""
    with torch.device('meta'):
        expected = {k: v.shape for k, v in arch_cls(**config).state_dict().items()}
    converted, unexpected = {}, []
    for key, value in state_dict.items():
        new_key = map_key(key)
        if new_key is None or new_key not in expected:
            unexpected.append(key)
        else:
            converted[new_key] = value
    missing = sorted(set(expected) - set(converted))
    mismatched = [f'{k}: {tuple(v.shape)} vs expected {tuple(expected[k])}'
                  for k, v in converted.items() if v.shape != expected[k]]
    if missing or unexpected or mismatched:
        raise ValueError(
            f'{converter} converter: the state_dict does not match a {arch_cls.__name__} with the '
            f'configuration read from its shapes ({config}).\n'
            f'  missing ({len(missing)}, our names): {short_list(missing)}\n'
            f'  unexpected ({len(unexpected)}, official names): {short_list(unexpected)}\n'
            f'  shape mismatches ({len(mismatched)}): {short_list(mismatched)}\n' + advice)
    return converted
