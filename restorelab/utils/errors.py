"""Errors caused by the user's input (files, configs, command lines).

Tools catch :class:`UserInputError` and print its message as one paragraph
(with exit code 2) instead of a traceback: the message itself names the file
or value, what was expected and how to fix it.
"""


class UserInputError(Exception):
    """Base of every error that a user's input causes and the message explains."""


def user_error_message(err):
    """The message of a user error, also when a DataLoader worker re-raised it.

    torch re-raises a worker's exception as the same type with the worker's
    traceback in the text; the user needs only its last line.
    """
    text = str(err).strip()
    if 'Original Traceback' in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        last = lines[-1]
        prefix = f'{type(err).__name__}: '
        return last[len(prefix):] if last.startswith(prefix) else last
    return text
