"""The quickstart demo (`make demo`): the whole framework on an embedded default, no download.

    python tools/demo.py [--work-dir work_dirs/demo] [--models drsformer,restormer,...]
        [--iters-scale 1.0] [--threads 1] [--quick]

1. renders a fixed synthetic-rain test set (Rain200 layout, seed 1) from two of the
   photographs inside scikit-image, and keeps five others as clean training photos;
2. trains reduced DRSformer, Restormer, PReNet (and Uformer/IDT when registered) with
   tools/train.py's machinery, the rain drawn on the fly (SyntheticRainDataset);
3. scores rainy input and derained output on the 'restormer' protocol and writes
   rainy | derained | clean comparison PNGs;
4. runs tools/benchmark.py on a config listing the trained models and the identity.
``--quick`` is a seconds-long smoke run (one model, a few iterations, tiny images).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))

TRAIN_PHOTOS = ('astronaut', 'coffee', 'rocket', 'motorcycle_left', 'hubble_deep_field')
TEST_PHOTOS = ('chelsea', 'motorcycle_right')
# name -> (config, arch type, iterations): about a minute of training each on one CPU thread
# (measured 0.09 s (Uformer) to 0.30 s (PReNet) per iteration at batch 2, 64x64 patches).
MODELS = dict(
    drsformer=('configs/quickstart/drsformer_demo.py', 'DRSformer', 250),
    restormer=('configs/quickstart/restormer_demo.py', 'Restormer', 280),
    prenet=('configs/quickstart/prenet_demo.py', 'PReNet', 200),
    uformer=('configs/quickstart/uformer_demo.py', 'Uformer', 600),
    idt=('configs/quickstart/idt_demo.py', 'IDT', 230),
)
DISPLAY = dict(drsformer='DRSformer', restormer='Restormer', prenet='PReNet', uformer='Uformer',
               idt='IDT')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='restorelab quickstart demo')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--models', default=','.join(MODELS),
                        help=f'comma-separated subset of {",".join(MODELS)}')
    parser.add_argument('--iters-scale', type=float, default=1.0,
                        help='multiply every model\'s training iterations')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (1 was fastest on a busy 2-core machine)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: first model only, 4 iterations, tiny images')
    parser.add_argument('--no-benchmark', action='store_true')
    parser.add_argument('--record', metavar='FILE',
                        help='also write the scores with the run\'s record (command, commit, date, machine '
                        'and its load, threads) as JSON; docs/quickstart.md renders '
                        'benchmarks/results/demo.json (python benchmarks/report.py)')
    return parser.parse_args(argv)


def write_record(path, results, rainy, n_test, args, argv, begun):
    """The demo's scores (no local paths) with the run's record: what docs/quickstart.md shows."""
    import torch

    from restorelab.utils import profiling
    models = {DISPLAY[n]: {k: results[n][k] for k in ('PSNR', 'SSIM', 'iterations', 'train_seconds')}
              for n in results if n in DISPLAY}
    summary = dict(rainy_input=dict(PSNR=rainy['PSNR'], SSIM=rainy['SSIM']), models=models,
                   test_images=n_test, threads=args.threads, iters_scale=args.iters_scale,
                   quick=args.quick, mkldnn=torch.backends.mkldnn.is_available(),
                   cpu_capability=torch.backends.cpu.get_cpu_capability())
    command = [osp.abspath(__file__), *(sys.argv[1:] if argv is None else argv)]
    name = osp.splitext(osp.basename(path))[0]
    print(f'record: {profiling.write_record(path, name, summary, argv=command, begun=begun)}')


def step(msg, t0):
    print(f'\n[{time.time() - t0:6.1f}s] == {msg}', flush=True)


def make_data(data_root, quick):
    """Clean training photos and a fixed rainy test set under ``data_root``."""
    from restorelab.datasets.synthetic_rain import export_skimage_photos, write_synthetic_pairs
    train_side, test_side = (96, 64) if quick else (256, 192)
    export_skimage_photos(osp.join(data_root, 'clean', 'train'), TRAIN_PHOTOS, train_side)
    export_skimage_photos(osp.join(data_root, 'clean', 'test'), TEST_PHOTOS, test_side)
    return write_synthetic_pairs(osp.join(data_root, 'clean', 'test'), osp.join(data_root, 'test'),
                                 n_per_image=2, seed=1, preset='heavy')


def test_pairs(data_root):
    from restorelab.datasets import PairedImageDataset
    ds = PairedImageDataset(data_root=data_root, test_mode=True,
                            data_prefix=dict(img='test/input', gt='test/target'))
    return [ds.get_data_info(i) for i in range(len(ds))]


def score(pairs, restore=None, comparisons_dir=None):
    """Mean PSNR/SSIM ('restormer' protocol) of the rainy inputs (``restore`` None) or of
    ``restore(rainy)``; writes rainy | output | clean PNGs to ``comparisons_dir``."""
    import numpy as np

    from restorelab.engine.hooks.visualization import make_comparison
    from restorelab.evaluation.functional import compute_metrics
    from restorelab.utils.image_io import imread_rgb, imwrite_rgb
    psnrs, ssims = [], []
    for info in pairs:
        rain, gt = imread_rgb(info['img_path']), imread_rgb(info['gt_path'])
        out = rain if restore is None else restore(rain)
        m = compute_metrics(out, gt, 'restormer')
        psnrs.append(m['psnr'])
        ssims.append(m['ssim'])
        if comparisons_dir:
            imwrite_rgb(osp.join(comparisons_dir, f"{info['key']}.png"),
                        make_comparison([rain, out, gt]))
    return dict(PSNR=float(np.mean(psnrs)), SSIM=float(np.mean(ssims)))


def train_one(name, config, iters, work_dir, data_root, quick):
    """Train ``config`` for ``iters`` iterations through tools/train.py's machinery."""
    from restorelab.engine import launch
    cfg = launch.load_config(osp.join(REPO, config))
    launch.set_work_dir(cfg, config, work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', T_max=iters, eta_min=1e-5,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 4))
    if quick:
        cfg.train_dataloader.dataset.pipeline[0].patch_size = 32
    cfg.setdefault('randomness', dict(seed=0))
    launch.setup_distributed(cfg, 'none')
    runner = launch.build_runner(cfg)
    runner.train()
    model = runner.model
    model.eval()
    return model, osp.join(work_dir, f'iter_{iters}.pth')


def write_bench_config(path, trained, data_root, quick):
    lines = ['# Written by tools/demo.py: the demo\'s models on its synthetic-rain test set.',
             'models = [']
    for name, info in trained.items():
        lines.append(f"    dict(name={DISPLAY[name]!r}, config={info['config']!r}, "
                     f"checkpoint={info['checkpoint']!r}),")
    lines += ["    dict(name='identity', type='identity'),", ']', 'datasets = [',
              "    dict(name='SynRain', config='configs/_base_/datasets/rain200h.py',",
              f"         data_root={data_root!r}),",
              ']',
              f"cost = dict(shape=(3, {64 if quick else 128}, {64 if quick else 128}), runs=2, "
              'warmup=1)', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    from restorelab.utils import profiling
    begun = profiling.begin()
    import torch
    torch.set_num_threads(max(1, args.threads))
    import mmengine.registry

    import restorelab.models  # noqa: F401  (registers the built-in archs)
    from restorelab.apis import restore_image
    from restorelab.engine import setup_engine
    setup_engine()  # restorelab's checkpoint loader, atomic saves, DataLoader workers
    from restorelab.registry import MODELS as REGISTRY

    work = osp.abspath(args.work_dir)
    data_root = osp.join(work, 'data')
    names = [n.strip() for n in args.models.split(',') if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f'error: unknown model(s) {unknown}; choose from {list(MODELS)}', file=sys.stderr)
        return 2
    if args.quick:
        names = names[:1]

    step(f'1/4 synthetic rain on scikit-image photographs -> {data_root}', t0)
    n_test = make_data(data_root, args.quick)
    pairs = test_pairs(data_root)
    print(f'{len(TRAIN_PHOTOS)} clean training photos (rain drawn on the fly, preset heavy), '
          f'{n_test} fixed rainy test pairs (seed 1)')
    rainy = score(pairs)
    print(f"rainy input: PSNR {rainy['PSNR']:.2f} dB, SSIM {rainy['SSIM']:.4f}")

    if 'drsformer' in names:  # loading its config imports the plugin (custom_imports)
        from restorelab.engine import launch
        launch.load_config(osp.join(REPO, MODELS['drsformer'][0]))
    trained, results = {}, dict(rainy_input=rainy)
    with mmengine.registry.DefaultScope.overwrite_default_scope('restorelab'):
        available = [n for n in names if REGISTRY.get(MODELS[n][1]) is not None]
    for n in names:
        if n not in available:
            print(f'note: {MODELS[n][1]} is not registered in this checkout; skipping it')
    for i, n in enumerate(available, 1):
        config, _, iters = MODELS[n]
        iters = 4 if args.quick else max(1, round(iters * args.iters_scale))
        step(f'2/4 train {DISPLAY[n]} ({i}/{len(available)}): {iters} iterations, {config}', t0)
        t = time.time()
        model, ckpt = train_one(n, config, iters, osp.join(work, n), data_root, args.quick)
        seconds = time.time() - t
        with torch.no_grad():
            metrics = score(pairs, lambda img: restore_image(model, img),
                            osp.join(work, 'comparisons', n))
        metrics.update(train_seconds=round(seconds, 1), iterations=iters, checkpoint=ckpt)
        results[n] = metrics
        trained[n] = dict(config=osp.join(REPO, config), checkpoint=ckpt)
        gain = metrics['PSNR'] - rainy['PSNR']
        print(f"{DISPLAY[n]}: PSNR {metrics['PSNR']:.2f} dB (+{gain:.2f} "
              f"over the rainy input), SSIM {metrics['SSIM']:.4f}, trained in {seconds:.0f} s")

    bench_out = osp.join(work, 'benchmark')
    bench_tool = osp.join(REPO, 'tools', 'benchmark.py')
    if args.no_benchmark or not trained:
        step('3/4 benchmark skipped', t0)
    elif not osp.isfile(bench_tool):
        step('3/4 benchmark skipped: tools/benchmark.py is not in this checkout', t0)
    else:
        step(f'3/4 benchmark (tools/benchmark.py) -> {bench_out}', t0)
        bench_cfg = osp.join(work, 'benchmark_demo.py')
        write_bench_config(bench_cfg, trained, data_root, args.quick)
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, args.threads)))
        res = subprocess.run([sys.executable, bench_tool, bench_cfg, '--out', bench_out],
                             cwd=REPO, env=env)
        if res.returncode != 0:
            print(f'note: tools/benchmark.py exited with {res.returncode}')

    step('4/4 summary', t0)
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(results, f, indent=2)
    if args.record:
        write_record(args.record, results, rainy, n_test, args, argv, begun)
    print(f"Scores on the {n_test} synthetic-rain test images ('restormer' protocol: PSNR/SSIM "
          'on the Y channel, higher is better; the rainy input is what doing nothing scores):')
    print(f"  {'rainy input':12s} PSNR {rainy['PSNR']:6.2f} dB  SSIM {rainy['SSIM']:.4f}")
    for n in trained:
        m = results[n]
        print(f"  {DISPLAY[n]:12s} PSNR {m['PSNR']:6.2f} dB  SSIM {m['SSIM']:.4f}  "
              f"(+{m['PSNR'] - rainy['PSNR']:.2f} dB, {m['iterations']} iterations)")
    print(f'\nEverything is in {work}:')
    print(f'  data/               clean photos and the rainy test set (Rain200 layout)')
    print(f'  <model>/            checkpoints (iter_N.pth), logs, TensorBoard events '
          f'(tensorboard --logdir {work})')
    print(f'  comparisons/<model>/ rainy | derained | clean PNGs of every test image')
    print(f'  benchmark/          table.md, results.csv/json and the PSNR-vs-latency plot')
    print(f'  summary.json        the numbers above')
    print(f'Total {time.time() - t0:.0f} s. These are minutes-old toy models; train on real data '
          'with `python tools/train.py configs/drsformer_rain200h.py`.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
