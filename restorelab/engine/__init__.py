# Importing this package registers the hooks and engine helpers.
from . import hooks  # noqa: F401
