"""FADformer (ECCV 2024) as a restorelab plugin: the package lives in ``projects.fadformer.fadformer``."""
