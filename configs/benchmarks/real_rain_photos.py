# Real rainy photos without ground truth, the DRSformer paper's Table 2 layout: NIQE and
# BRISQUE (lower is better) of the rainy input and of every released Rain100H model, plus a
# contact sheet to look at:
#
#     python tools/benchmark.py configs/benchmarks/real_rain_photos.py --save-images
#
# The set is configs/_base_/datasets/real_rain.py: the photos in data/RealRain (docs/datasets.md
# says where SIRR's 147 real test photos come from) scored with NIQE and BRISQUE, whose
# parameter files are not shipped (docs/published_results.md says where each comes from). When every
# model fails on the set (no photos, no parameter files) the tool says why and exits 1.
# Models: the heavy-rain (Rain100H) weights of each release, fetched by name
# (docs/released_weights.md). Large photos are restored whole; set inference.tile=512 on a machine with
# little memory.

models = [
    dict(name='Input', type='identity'),
    dict(name='PRN', zoo='prn_rain100h'),
    dict(name='PReNet', zoo='prenet_rain100h'),
    dict(name='PRN_r', zoo='prn_r_rain100h'),
    dict(name='PReNet_r', zoo='prenet_r_rain100h'),
    dict(name='BRN', zoo='brn_rain100h'),
    dict(name='AIDNet', zoo='aidnet_rain100h'),
]

datasets = [dict(config='configs/_base_/datasets/real_rain.py')]

inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0)
cost = dict(shape=(3, 320, 480), runs=3, warmup=1)
