#!/usr/bin/env python
"""Peak memory of a long benchmark and a long validation after few and many images (issue 18).
A benchmark, not a test.

Writes a generated Rain200-layout test set (``--per-image`` rainy versions of each of
scikit-image's 7 photographs, longer side ``--max-side``) and random-weight checkpoints of the
five quickstart models (configs/quickstart/*_demo.py; memory does not depend on the weights),
then runs, each in a fresh process, and reports that process's peak resident set (``wait4``'s
``ru_maxrss``):

* ``tools/benchmark.py`` over the five models and the identity (``--no-cost``) on the first
  ``N`` images (``--limit N``), for each ``N`` of ``--counts``, the images loaded in the process
  that restores them (no DataLoader workers; see ``NO_WORKERS``);
* ``tools/test.py`` of the quickstart Restormer (the first of ``--models`` without it) on the first
  ``N`` images.

    nice -n 10 python benchmarks/memory_growth.py --scratch /tmp/memory   # 50 and 500 images
    python benchmarks/memory_growth.py --dry-run --scratch /tmp/memory_dry # PReNet, 1 and 2 images

Each run's peaks are the harness's ``peak_memory_of_command``: the resident set (``ru_maxrss``,
shared libraries' pages included, which moves with what else runs on the machine) and the
anonymous memory (``RssAnon``, sampled: the heap and tensors, where a kept output would be). The
figures go to the record
``benchmarks/results/memory_growth.json``.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (puts the repository on sys.path)
import tables  # noqa: E402

ROOT = harness.REPO_ROOT
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
SCRIPT = 'memory_growth'
MODELS = ('drsformer', 'restormer', 'prenet', 'uformer', 'idt')
# The images are loaded in the process that restores and scores them: what is measured is that
# process, where a kept output would be. With DataLoader workers the peak is that of the process
# tree, and a worker's own peak rises with the images it has loaded (IDT's cell, 2 workers:
# 683 -> 770 MiB from 10 to 100 images; 684 -> 687 MiB without workers).
NO_WORKERS = {'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False}


def peak_mb(cmd):
    """``(peak resident set, peak anonymous memory)`` of the command's process, MiB."""
    return harness.peak_memory_of_command(cmd, cwd=ROOT, env=ENV)


def make_data(scratch, per_image, max_side):
    """The test set, its files renamed ``<version>_<photograph>.png`` so that the sorted order
    takes the photographs in turn: the first 10 images hold every image size the first 100 do
    (the 7 photographs have 5 sizes), and runs on few and many images differ in number only."""
    data = scratch / 'data'
    if not (data / 'test' / 'input').is_dir():
        subprocess.run([sys.executable, str(ROOT / 'tools' / 'make_synthetic_rain.py'), 'skimage',
                        str(data / 'test'), '--max-side', str(max_side), '--n-per-image',
                        str(per_image), '--seed', '0'], check=True, env=ENV,
                       stdout=subprocess.DEVNULL)
        for folder in ('input', 'target'):
            for path in (data / 'test' / folder).iterdir():
                photo, _, version = path.stem.rpartition('_')  # one version: no '_<k>' suffix
                photo, version = (photo, version) if version.isdigit() else (path.stem, '1')
                path.rename(path.with_name(f'{int(version):04d}_{photo}{path.suffix}'))
    return data, len(os.listdir(data / 'test' / 'input'))


def make_checkpoints(scratch, models=MODELS):
    """``{model: (config, checkpoint)}`` with seed-0 random weights."""
    import torch

    from restorelab.apis import init_model
    out = {}
    for name in models:
        config = ROOT / 'configs' / 'quickstart' / f'{name}_demo.py'
        ckpt = scratch / 'checkpoints' / f'{name}.pth'
        if not ckpt.is_file():
            torch.manual_seed(0)
            model = init_model(str(config), None, device='cpu')
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            torch.save({'state_dict': model.state_dict()}, ckpt)
        out[name] = (config, ckpt)
    return out


def write_benchmark_config(path, models, data):
    lines = ['models = [']
    lines += [f'    dict(name={name!r}, config={str(cfg)!r}, checkpoint={str(ckpt)!r}),'
              for name, (cfg, ckpt) in models.items()]
    lines += ["    dict(name='identity', type='identity'),", ']', 'datasets = [',
              "    dict(name='SynRain', config='configs/_base_/datasets/rain200h.py',",
              f"         data_root={str(data)!r}, cfg_options={dict(NO_WORKERS)!r}),", ']', '']
    path.write_text('\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scratch', default='work_dirs/memory_growth')
    parser.add_argument('--per-image', type=int, default=72, help='rainy versions per photograph')
    parser.add_argument('--max-side', type=int, default=128)
    parser.add_argument('--counts', default='50,500')
    parser.add_argument('--models', default=','.join(MODELS),
                        help=f'comma-separated quickstart models (default {",".join(MODELS)})')
    harness.add_record_options(parser, 'PReNet only, 1 and 2 images of 32 pixels (a check of the script; '
                                       'a minute)')
    args = parser.parse_args(argv)
    if args.dry_run:
        args.per_image, args.max_side, args.counts, args.models = 1, 32, '1,2', 'prenet'
    models = args.models.split(',')
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f'--models: unknown {unknown}; choose from {",".join(MODELS)}')
    try:
        counts = [int(c) for c in args.counts.split(',')]
    except ValueError:
        parser.error(f'--counts {args.counts!r}: expected comma-separated numbers of images, e.g. 50,500')
    begun = harness.begin()
    scratch = Path(args.scratch).resolve()
    data, n = make_data(scratch, args.per_image, args.max_side)
    if max(counts) > n:
        sys.exit(f'only {n} images generated; raise --per-image')
    models = make_checkpoints(scratch, models)
    bench_cfg = scratch / 'benchmark.py'
    write_benchmark_config(bench_cfg, models, data)
    rows = {}
    for count in counts:
        rows.setdefault(f'tools/benchmark.py, {len(models)} models + identity', {})[count] = \
            peak_mb([sys.executable, 'tools/benchmark.py', str(bench_cfg), '--out',
                     str(scratch / f'bench_{count}'), '--no-cost', '--no-progress',
                     '--limit', str(count)])
        print(f'benchmark, {count} images: done', flush=True)
        name = 'restormer' if 'restormer' in models else next(iter(models))
        config, ckpt = models[name]
        rows.setdefault(f'tools/test.py, quickstart {name}', {})[count] = peak_mb([
            sys.executable, 'tools/test.py', str(config), str(ckpt), '--work-dir',
            str(scratch / f'test_{count}'), '--cfg-options',
            f'test_dataloader.dataset.data_root={data}',
            f'test_dataloader.dataset.indices={count}',
            *(f'{k}={v}' for k, v in NO_WORKERS.items())])
        print(f'test, {count} images: done', flush=True)
    print(f'\npeak resident set (MiB) of each run, a fresh process each; {n} generated images, '
          f'longer side {args.max_side}, torch threads 1')
    results = dict(images=n, per_image=args.per_image, max_side=args.max_side, counts=counts,
                   models=list(models), threads=1,
                   runs=[dict(run=name, peak_mib={str(c): rss for c, (rss, _) in by_count.items()},
                              peak_anon_mib={str(c): anon for c, (_, anon) in by_count.items()})
                         for name, by_count in rows.items()])
    print('\n'.join(tables.memory_growth(results)))
    harness.finish(args, SCRIPT, results, begun, argv=argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
