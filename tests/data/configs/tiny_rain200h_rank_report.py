# tiny_rain200h.py plus a test-only hook that writes each rank's final state.
_base_ = ['./tiny_rain200h.py']
custom_imports = dict(imports=['tests.fixtures.rank_report'], allow_failed_imports=False)
custom_hooks = [dict(type='RankReportHook')]
