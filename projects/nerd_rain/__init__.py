"""NeRD-Rain (CVPR 2024) as a restorelab plugin: the package lives in ``projects.nerd_rain.nerd_rain``."""
