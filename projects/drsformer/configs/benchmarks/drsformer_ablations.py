# The DRSformer ablations of the paper's Sec. 4.3 (projects/drsformer/configs/ablations/) on the Rain200H test
# set, as one command once every ablation config is trained with tools/train.py's default work dirs (the
# loop in projects/drsformer/README.md, "Ablations"):
#
#     python tools/benchmark.py projects/drsformer/configs/benchmarks/drsformer_ablations.py --device cuda
#
# Each model is scored from its final checkpoint (iter_300000.pth, written by save_last), not from the
# best-PSNR one, which is picked on this same test split. A model not trained yet makes its cell "failed"
# with the reason; the others still run (select some with --models). Parameters and FLOPs are measured on
# each config's arch (the fast path: fewer multiply-adds than the release's formulation for the same
# function; projects/drsformer/README.md lists both counts).
_configs = 'projects/drsformer/configs/ablations'
# (model name in the tables, config name): the paper's row first.
_rows = [
    ('full (Table 3 MSFN = Table 4 f)', 'drsformer_full'),
    ('Table 3 FN', 'drsformer_ffn-fn'),
    ('Table 3 DFN', 'drsformer_ffn-dfn'),
    ('Table 3 GDFN', 'drsformer_ffn-gdfn'),
    ('Table 4 a: no MEFC', 'drsformer_mefc-none'),
    ('Table 4 b: MEFC-1 only', 'drsformer_mefc-early'),
    ('Table 4 c: MEFC-2 only', 'drsformer_mefc-final'),
    ('Table 4 d: 1 expert', 'drsformer_experts-1'),
    ('Table 4 e: 4 experts', 'drsformer_experts-4'),
    ('Fig. 6: w/o top-k', 'drsformer_attn-dense'),
    ('Fig. 7: k = 1/2', 'drsformer_topk-1-2'),
    ('Fig. 7: [1/4, 1/2]', 'drsformer_topk-1-4to1-2'),
    ('Fig. 7: [1/2, 2/3]', 'drsformer_topk-1-2to2-3'),
    ('Fig. 7: [1/2, 3/4]', 'drsformer_topk-1-2to3-4'),
    ('Fig. 7: [1/2, 5/6]', 'drsformer_topk-1-2to5-6'),
]

models = [
    dict(name=name, config=f'{_configs}/{config}_rain200h.py',
         checkpoint=f'work_dirs/{config}_rain200h/iter_300000.pth')
    for name, config in _rows
]

# The Rain200H test set as configs/_base_/datasets/rain200h.py reads it (the 'restormer' protocol).
datasets = [dict(config='configs/_base_/datasets/rain200h.py')]

# The paper's protocol: whole images reflect-padded to a multiple of 8, no tiling, no self-ensemble.
inference = dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False, seed=0)

# FLOPs at 256x256 as in the paper; latency is the median of 5 runs after 2 warm-up runs.
cost = dict(shape=(3, 256, 256), runs=5, warmup=2)
