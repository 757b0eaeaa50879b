"""DRSformer (CVPR 2023) as a restorelab plugin: the package lives in ``projects.drsformer.drsformer``."""
