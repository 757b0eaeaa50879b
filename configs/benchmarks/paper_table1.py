# The comparison of the DRSformer paper's Table 1 (Rain200L, Rain200H, DID-Data, DDN-Data,
# SPA-Data; PSNR/SSIM on the luma channel) as one command:
#
#     python tools/benchmark.py configs/benchmarks/paper_table1.py --out work_dirs/table1
#     tools/dist_benchmark.sh configs/benchmarks/paper_table1.py 4 --out work_dirs/table1
#
# The sets are the dataset configs of configs/_base_/datasets/ (their test loaders and
# evaluators, as tools/test.py uses them), so they need the test sets under data/ in those
# layouts (docs/datasets.md). Models with released weights in the model zoo are named by
# release (`python tools/zoo.py list`: fetched by name, checked and converted on the fly);
# releases the zoo can only link to (a Google Drive folder without a file per set) are read
# from checkpoints/official/ in the release's own format, converted on the fly (download them
# by hand; `python tools/zoo.py list --json` gives the links). A set without weights, or a
# missing file, makes its cell "failed" with the reason; the other cells still run. Run a
# subset with --models / --datasets.
#
# Table 1's learned methods and where they are here (its prior-based rows, DSC and GMM, are
# optimisation methods without weights, which restorelab does not implement):
#   DDN          released DDN-Data.                  MSPFN             one released model (Rain13K, M17N1).
#   RESCAN       released Rain200L/H weights.       PReNet ("PRNet")  released Rain200L/H.
#   RCDNet       released DDN-Data, SPA-Data.        MPRNet            one released model (Rain13K).
#   DualGCN      released, every set.                SPDNet            Drive folder, 4 sets.
#   Uformer      no deraining weights released: your own checkpoints, trained with configs/uformer/.
#   Restormer    one released model (Rain13K).       IDT               Drive folder, every set.
#   DRSformer    released, every set.
# After the paper (extra rows): NeRD-Rain and NeRD-Rain-S (CVPR 2024, plugin
# projects/nerd_rain), released per set on Google Drive, fetched by name; FADformer (ECCV 2024,
# plugin projects/fadformer), Baidu NetDisk releases, one per set, read from
# checkpoints/official/fadformer/<set>.pth.
_official = 'checkpoints/official'
_spdnet_sets = ('Rain200L', 'Rain200H', 'DID-Data', 'SPA-Data')
_sets = dict(Rain200L='rain200l', Rain200H='rain200h', **{'DID-Data': 'did_data',
             'DDN-Data': 'ddn_data', 'SPA-Data': 'spa_data'})


def _released(prefix, sets=tuple(_sets)):
    return {s: f'{prefix}_{_sets[s]}' for s in sets}


def _per_set(path, sets=tuple(_sets)):
    return {s: path.format(suffix=_sets[s], set=s) for s in sets}


models = [
    # The rainy input itself: the row every method must beat.
    dict(name='Input', type='identity'),
    dict(name='DDN', zoo={'DDN-Data': 'ddn_ddn_data'}),
    dict(name='RESCAN', zoo=_released('rescan', ('Rain200L', 'Rain200H'))),
    dict(name='PReNet', zoo=_released('prenet', ('Rain200L', 'Rain200H'))),
    # MSPFN: the one released network (M17N1, trained on Rain13K) on every set, as Restormer's;
    # Table 1's MSPFN rows are the authors' per-set retrainings, not this model.
    dict(name='MSPFN', zoo='mspfn_m17n1_rain13k'),
    dict(name='RCDNet', zoo=_released('rcdnet', ('DDN-Data', 'SPA-Data'))),
    dict(name='MPRNet', zoo='mprnet_rain13k'),
    dict(name='DualGCN', zoo=_released('dualgcn')),
    # SPDNet: the README's Drive folder, one model_best.pt per set (no DDN-Data model).
    dict(name='SPDNet', config=_per_set('configs/spdnet/spdnet_{suffix}.py', _spdnet_sets),
         convert='spdnet',
         checkpoint=_per_set(f'{_official}/spdnet/{{set}}/model_best.pt', _spdnet_sets)),
    # Uformer: restorelab checkpoints of your own (tools/train.py configs/uformer/uformer_<set>.py,
    # the checkpoint copied to checkpoints/uformer/<set>.pth).
    dict(name='Uformer', config=_per_set('configs/uformer/uformer_{suffix}.py'),
         checkpoint=_per_set('checkpoints/uformer/{suffix}.pth')),
    dict(name='Restormer', zoo='restormer_rain13k'),
    # IDT: the README's Drive folder "Derain", one file per set (saved here as <set>.pth).
    dict(name='IDT', config=_per_set('configs/idt/idt_{suffix}.py'), convert='idt',
         checkpoint=_per_set(f'{_official}/idt/{{set}}.pth')),
    dict(name='DRSformer', zoo=_released('drsformer')),
    # After the paper. NeRD-Rain's release scores 256x256 windows; this table runs whole images.
    dict(name='NeRD-Rain-S', zoo=_released('nerd_rain_s')),
    dict(name='NeRD-Rain', zoo=_released('nerd_rain')),
    # FADformer, one release per set ({'state_dict'} files saved from DataParallel).
    dict(name='FADformer', config=_per_set('projects/fadformer/configs/fadformer_{suffix}.py'),
         convert='fadformer', checkpoint=_per_set(f'{_official}/fadformer/{{set}}.pth')),
]

datasets = [dict(config=f'configs/_base_/datasets/{suffix}.py') for suffix in _sets.values()]

# One protocol for every model: reflect padding to each arch's size multiple, whole images
# (no tiling; set tile=512 for large real photos on small GPUs), no self-ensemble.
inference = dict(pad_mode='reflect', tile=None, tile_overlap=32, self_ensemble=False, seed=0)

# FLOPs at 256x256 as in the paper; latency is the median of 5 runs after 2 warm-up runs.
cost = dict(shape=(3, 256, 256), runs=5, warmup=2)
