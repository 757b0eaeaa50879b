# tests/data/configs/tiny_rain200h.py with the interruption tests' FaultHook,
# logging every iteration.
_base_ = ['../../data/configs/tiny_rain200h.py']
custom_imports = dict(imports=['tests.reliability.fault_hooks'], allow_failed_imports=False)
custom_hooks = [dict(type='FaultHook')]
default_hooks = dict(logger=dict(interval=1))
