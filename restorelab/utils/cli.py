"""Command-line argument helpers shared by the tools (standard library only, cheap to import)."""
import os


def split_model_arguments(parser, config, paths, last):
    """``(checkpoint, last_value)`` of a tool taking ``CONFIG CHECKPOINT LAST`` or ``NAME LAST``.

    ``paths`` holds what followed CONFIG|NAME (one or two values); ``last`` names the final
    argument in messages (e.g. 'INPUT', 'OUT.onnx'). Mistakes end through ``parser.error``.
    """
    if len(paths) > 2:
        parser.error(f'too many arguments: {" ".join(paths)}; expected CONFIG CHECKPOINT '
                     f'{last} or NAME {last}')
    checkpoint = paths[0] if len(paths) == 2 else None
    if checkpoint is None and os.path.isfile(config):
        parser.error(f'{config} is a config file: give CONFIG CHECKPOINT {last} (or a '
                     'released model name instead of CONFIG CHECKPOINT)')
    return checkpoint, paths[-1]
