# Importing this package registers the metrics.
from . import metrics  # noqa: F401
