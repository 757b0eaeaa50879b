# The comparison of the DRSformer paper's Table 1 (Rain200L, Rain200H, DID-Data, DDN-Data,
# SPA-Data; PSNR/SSIM on the luma channel) as one command, with the official checkpoints
# converted on the fly:
#
#     python tools/benchmark.py configs/benchmarks/paper_table1.py --out work_dirs/table1
#
# The sets are the dataset configs of configs/_base_/datasets/ (their test loaders and
# evaluators, as tools/test.py uses them), so they need the test sets under data/ in those
# layouts (docs/datasets.md), and the official weights under checkpoints/official/ (downloaded
# by hand from each release; nothing here downloads). A missing file makes its cells "failed"
# with the reason; the other cells still run. Models trained once per set list their
# config/checkpoint per dataset name. Run a subset with --models / --datasets, on several
# processes with tools/dist_benchmark.sh.
_weights = 'checkpoints/official'
_sets = ['Rain200L', 'Rain200H', 'DID-Data', 'DDN-Data', 'SPA-Data']
_drsformer_configs = dict(
    zip(_sets, [f'projects/drsformer/configs/drsformer_{s}.py' for s in
                ['rain200l', 'rain200h', 'did_data', 'ddn_data', 'spa_data']]))

models = [
    # The rainy input itself: the row every method must beat.
    dict(name='Input', type='identity'),
    # PReNet: the release's Rain100H/Rain100L/Rain1400 weights (logs/*/PReNet6/net_latest.pth);
    # Rain1400 = DDN-Data. Sets without released weights fail with "lists no checkpoint".
    dict(name='PReNet', config='configs/prenet/prenet_rain100h.py', convert='prenet',
         checkpoint={'DDN-Data': f'{_weights}/prenet/Rain1400/PReNet6/net_latest.pth'}),
    # Restormer: one released deraining model (Rain13K training set) for every set.
    dict(name='Restormer', config='configs/restormer/restormer_rain200h.py',
         checkpoint=f'{_weights}/restormer/deraining.pth', convert='restormer'),
    # DRSformer: one released model per set (the release drops the MEFCs for Rain200L and
    # SPA-Data, hence one config per set too).
    dict(name='DRSformer', config=_drsformer_configs, convert='drsformer',
         checkpoint={s: f'{_weights}/drsformer/{s}.pth' for s in _sets}),
]

datasets = [
    dict(config=f'configs/_base_/datasets/{name}.py')
    for name in ('rain200l', 'rain200h', 'did_data', 'ddn_data', 'spa_data')
]

# One protocol for every model: reflect padding to each arch's size multiple, whole images
# (no tiling; set tile=512 for large real photos on small GPUs), no self-ensemble.
inference = dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False, seed=0)

# FLOPs at 256x256 as in the paper; latency is the median of 5 runs after 2 warm-up runs.
cost = dict(shape=(3, 256, 256), runs=5, warmup=2)
