# The published Rain100H/Rain100L tables of the PReNet, BRN, AIDNet and RCDNet papers,
# reproduced from the released weights (each model with the weights released for that set, fetched by
# name, verified by sha256 and converted on the fly; see docs/released_weights.md):
#
#     python tools/benchmark.py configs/benchmarks/rain100_released.py --quantize truncate
#
# --quantize truncate scores the outputs as the authors' test scripts saved them
# (np.uint8(255 * out)); without it they are rounded (docs/published_results.md: what that is worth).
# Scored with the authors' MATLAB statistic script ('rcdnet' protocol: Y of im2double,
# unrounded, PSNR with peak 1, SSIM of Y*255 with the 2009 ssim.m downsampling).
#
# Test sets: configs/_base_/datasets/rain100{h,l}.py in their 'numbered' layout, the 100 pairs
# of each as input/1.png and target/1.png under data/Rain100H/test and data/Rain100L/test
# (docs/datasets.md: MSPFN's 480x320 crops of Rain100H, the Rain2Avoid copy of Rain100L).
# Measured on a 2-core CPU (docs/published_results.md gives the date, commit and the time the full run
# took). A quick look first: --limit 5 --no-cost (with --limit the cost table is one timed run).
_sets = ['Rain100H', 'Rain100L']

# Released weights by set: e.g. PReNet -> prenet_rain100h on Rain100H, prenet_rain100l on
# Rain100L (the names of `python tools/zoo.py list`).
_families = dict(PRN='prn', PReNet='prenet', PRN_r='prn_r', PReNet_r='prenet_r', BRN='brn',
                 AIDNet='aidnet', RCDNet='rcdnet')
models = [dict(name='Input', type='identity')] + [
    dict(name=name, zoo={s: f'{prefix}_{s.lower()}' for s in _sets})
    for name, prefix in _families.items()
]

datasets = [
    dict(config=f'configs/_base_/datasets/{s.lower()}.py', protocol='rcdnet',
         cfg_options={'test_dataloader.dataset.layout': 'numbered'})
    for s in _sets
]

# Whole images, no padding needed by these archs, no self-ensemble: the authors' test.
inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0, quantize='round')

# Cost at the test sets' size (480x320), median of 3 runs after 1 warm-up.
cost = dict(shape=(3, 320, 480), runs=3, warmup=1)
