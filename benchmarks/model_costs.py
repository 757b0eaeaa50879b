"""Parameters and FLOPs at 256x256 of every model restorelab ships, one record per model.

    python benchmarks/model_costs.py [--models NAME ...] [--shape 3 256 256]

For each model: its Table 1 config built with random weights, the parameter count and the
multiply-accumulates of one forward as ``tools/analysis/get_flops.py`` counts them (the release
formulation, as the papers count; and what restorelab executes, which differs only for an arch
with a fast path). Written to ``benchmarks/results/cost-<name>.json``; docs/model_zoo.md's
models table is rendered from these records beside the papers' own figures
(``benchmarks/published.py``).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REPO_ROOT, write_record  # noqa: E402

# name -> the config whose arch is counted (the Rain200H model where there is one: the
# heaviest setting of Table 1; otherwise the release's own training set).
MODELS = {
    'DDN': 'configs/ddn/ddn_ddn_data.py',
    'RESCAN': 'configs/rescan/rescan_rain200h.py',
    'PReNet': 'configs/prenet/prenet_rain200h.py',
    'BRN': 'configs/brn/brn_rain200h.py',
    'AIDNet': 'configs/aidnet/aidnet_rain100h.py',
    # MSPFN: the released weights' network (M17N1; train_MSPFN.py's has num_caus=(3, 3, 1)).
    'MSPFN': 'configs/mspfn/mspfn_m17n1_rain13k.py',
    'RCDNet': 'configs/rcdnet/rcdnet_rain100h.py',
    'MPRNet': 'configs/mprnet/mprnet_rain13k.py',
    'DualGCN': 'configs/dualgcn/dualgcn_rain200h.py',
    'SPDNet': 'configs/spdnet/spdnet_rain200h.py',
    'Uformer': 'configs/uformer/uformer_rain200h.py',
    'Restormer': 'configs/restormer/restormer_rain200h.py',
    'IDT': 'configs/idt/idt_rain200h.py',
    'DRSformer': 'projects/drsformer/configs/drsformer_rain200h.py',
    'FADformer': 'projects/fadformer/configs/fadformer_rain200h.py',
    'NeRD-Rain': 'projects/nerd_rain/configs/nerd_rain_rain200h.py',
    'SPANet': 'configs/spanet/spanet_spa_data.py',
}


def measure(config, shape):
    from restorelab.apis import init_model
    from restorelab.benchmark import count_flops, count_parameters, release_formulation, runs_fast_path
    from restorelab.engine.launch import load_config

    model = init_model(load_config(str(REPO_ROOT / config)))
    paper = count_flops(release_formulation(model.arch), shape)
    executed = count_flops(model.arch, shape) if runs_fast_path(model.arch) else paper
    return dict(config=config, arch=type(model.arch).__name__, shape=list(shape),
                params=count_parameters(model.arch), flops=paper, flops_executed=executed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', choices=sorted(MODELS), metavar='NAME',
                        help=f'default: all ({", ".join(MODELS)})')
    parser.add_argument('--shape', type=int, nargs=3, default=[3, 256, 256], metavar=('C', 'H', 'W'))
    parser.add_argument('--results-dir', help='where the records go (default benchmarks/results)')
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    for name in args.models or MODELS:
        result = measure(MODELS[name], args.shape)
        path = write_record(f'cost-{name.lower()}', dict(model=name, **result), args.results_dir,
                            argv=[sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
        print(f'{name}: {result["params"]:,} parameters, {result["flops"] / 1e9:.3f} G MACs '
              f'(executed {result["flops_executed"] / 1e9:.3f} G) at {"x".join(map(str, args.shape))}'
              f' -> {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
