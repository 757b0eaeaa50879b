"""Wall time of one benchmark run in one process (2 threads) against two processes (1 thread
each, tools/dist_benchmark.sh), on the models and sets of configs/benchmarks/rain100_released.py:
the same arch configs with random weights (the released files need a download), and generated
Rain100H/Rain100L-like sets (N pairs of 321x481 images in the 'numbered' layout) as dataset
configs, --limit N --no-cost. Both runs must give the same table; the record holds both times,
their ratio and the machine's load average.

    python benchmarks/dist_benchmark_time.py [--images 10] [--models PRN,PReNet,...]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import begin, write_record  # noqa: E402

# rain100_released.py's families and their configs per set.
FAMILIES = dict(PRN='prn', PReNet='prenet', PRN_r='prn_r', PReNet_r='prenet_r', BRN='brn',
                AIDNet='aidnet', RCDNet='rcdnet')
SETS = ('Rain100H', 'Rain100L')


def config_of(prefix, dataset):
    folder = {'prn': 'prenet', 'prn_r': 'prenet', 'prenet_r': 'prenet'}.get(prefix, prefix)
    return os.path.join(REPO, 'configs', folder, f'{prefix}_{dataset.lower()}.py')


def make_inputs(root, images, families):
    """The generated sets, random-weight checkpoints and the BENCH_CONFIG; returns its path."""
    import numpy as np
    import torch

    from restorelab.apis import load_restorer
    from restorelab.utils.image_io import imwrite_rgb

    rng = np.random.default_rng(0)
    for dataset in SETS:
        for i in range(1, images + 1):
            clean = rng.integers(30, 220, (321, 481, 3), dtype=np.uint8)
            streaks = (rng.random((321, 481, 1)) > 0.93) * 255
            imwrite_rgb(os.path.join(root, dataset, 'test', 'target', f'{i}.png'), clean)
            imwrite_rgb(os.path.join(root, dataset, 'test', 'input', f'{i}.png'),
                        np.maximum(clean, streaks).astype(np.uint8))
    models = ["dict(name='Input', type='identity')"]
    for name in families:
        prefix, checkpoints = FAMILIES[name], {}
        for dataset in SETS:
            torch.manual_seed(0)
            model = load_restorer(dict(config=config_of(prefix, dataset)))
            checkpoints[dataset] = os.path.join(root, f'{prefix}_{dataset}.pth')
            torch.save({'state_dict': model.state_dict()}, checkpoints[dataset])
        models.append(f"dict(name={name!r}, config={ {s: config_of(prefix, s) for s in SETS}!r}, "
                      f'checkpoint={checkpoints!r})')
    datasets = [f"dict(config='configs/_base_/datasets/{s.lower()}.py', protocol='rcdnet', "
                f"data_root={os.path.join(root, s)!r}, "
                "cfg_options={'test_dataloader.dataset.layout': 'numbered'})" for s in SETS]
    path = os.path.join(root, 'bench.py')
    with open(path, 'w') as f:
        f.write('models = [\n    ' + ',\n    '.join(models) + ',\n]\n')
        f.write('datasets = [\n    ' + ',\n    '.join(datasets) + ',\n]\n')
        f.write("inference = dict(pad_mode='reflect', tile=None, self_ensemble=False, seed=0)\n")
    return path


def timed(command, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=REPO, PYTHON=sys.executable)
    start = time.perf_counter()
    res = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode:
        sys.exit(f'{" ".join(command)} failed ({res.returncode}):\n{res.stderr[-3000:]}')
    return seconds


def table(out):
    text = open(os.path.join(out, 'table.md')).read()
    return text[text.index('| Model |'):text.index('restorelab 0')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=10)
    parser.add_argument('--models', default=','.join(FAMILIES))
    args = parser.parse_args()
    families = [m for m in args.models.split(',') if m]
    root, begun = tempfile.mkdtemp(prefix='dist_benchmark_time_'), begin()
    try:
        bench = make_inputs(root, args.images, families)
        options = ['--limit', str(args.images), '--no-cost', '--no-progress']
        load_before = os.getloadavg()
        one = timed([sys.executable, 'tools/benchmark.py', bench, '--out',
                     os.path.join(root, 'one'), *options], threads=2)
        two = timed(['bash', 'tools/dist_benchmark.sh', bench, '2', '--out',
                     os.path.join(root, 'two'), *options], threads=1)
        same = table(os.path.join(root, 'one')) == table(os.path.join(root, 'two'))
        results = dict(
            what='tools/benchmark.py (1 process, 2 threads) vs tools/dist_benchmark.sh 2 (2 '
                 'processes, 1 thread each), --limit N --no-cost, wall time of the whole command',
            models=['Input', *families], sets=list(SETS), images_per_set=args.images,
            image_size=[321, 481], weights='random (the released archs\' configs)',
            one_process_s=round(one, 1), two_processes_s=round(two, 1),
            speedup=round(one / two, 2), same_table=same,
            load_average_before=[round(x, 1) for x in load_before],
            load_average_after=[round(x, 1) for x in os.getloadavg()])
        print(results)
        print(write_record('dist_benchmark_time', results, begun=begun))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
