# Importing this package registers every built-in model component.
from . import archs, data_preprocessors, losses, restorers  # noqa: F401
