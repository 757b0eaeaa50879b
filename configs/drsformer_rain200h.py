# DRSformer (CVPR 2023) on Rain200H with the official release's recipe: the entry point of
#   python tools/train.py configs/drsformer_rain200h.py
# The model is the plugin in projects/drsformer/ (its README lists the other datasets); the base's
# custom_imports loads it.
_base_ = ['../projects/drsformer/configs/drsformer_rain200h.py']
