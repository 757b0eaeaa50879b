"""Run the models x datasets grid of a BENCH_CONFIG: each cell is the dataset config's
``test_dataloader`` and ``test_evaluator`` run by mmengine's test loop on the model that
:func:`restorelab.apis.load_restorer` makes of the entry, as tools/test.py runs them.

On several processes (tools/dist_benchmark.sh) every process takes its share of each
cell's images through mmengine's distributed sampler and the evaluator gathers the
per-image values (dropping the sampler's padding), so the table equals the one-process
table; costs, the outputs and results.json are written by the first process alone.
A cell whose model or data cannot be loaded is recorded as failed with its reason and the
run goes on; ``results.json`` is rewritten after every cell, so an interrupted run resumes.
"""
import contextlib
import copy
import itertools
import json
import os
import shutil
import sys
import time

import numpy as np
import torch
from mmengine.hooks import Hook

from restorelab.apis.models import check_device
from restorelab.engine.hooks.visualization import image_grid, tensor_to_uint8
from restorelab.engine.watchdog import report_progress
from restorelab.utils import profiling
from restorelab.utils.errors import BenchmarkError, describe_error
from restorelab.utils.fileio import write_json
from restorelab.utils.image_io import ImageReadError, imread_rgb, imwrite_rgb
from .config import check_bench_config, entry_ref, restorer_test_cfg, select
from .report import comparisons, load_results, write_outputs

RESULTS_VERSION = 2
COST_EXTRA_RUNS = 4  # what counting FLOPs and measuring memory take, in restorations
_RUNNERS = itertools.count()  # a unique experiment name for each cell's Runner
# The contact sheets' layout (image_grid): rows 200 pixels high, keys in a 120-pixel column.
CONTACT_SHEET = dict(height=200, gap=6, margin=6, key_width=120)


def cell_id(model_name, dataset_name):
    return f'{model_name}|{dataset_name}'


def collect_environment(device):
    """The machine (:func:`restorelab.utils.profiling.machine`: CPU, cores, load, versions), the
    commit of restorelab's checkout and whether it had uncommitted changes, and the device."""
    import restorelab

    commit, dirty = profiling.repository_state(os.path.dirname(os.path.abspath(__file__)))
    return dict(profiling.machine(), restorelab=restorelab.__version__, git_commit=commit,
                git_dirty=dirty, device=str(device))


@contextlib.contextmanager
def deterministic(seed, device):
    """Seed every generator and ask torch for deterministic kernels (warn-only: an op
    without a deterministic version warns instead of failing the cell)."""
    from mmengine.runner import set_random_seed

    if torch.device(device).type == 'cuda':
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(True, warn_only=True)
    set_random_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])


def _jsonable(value):
    """Specs as JSON gives them back (tuples become lists), for resume comparisons."""
    return json.loads(json.dumps(value))


class _Progress:
    """One line on stderr: the cell, the grid's images and the time left, which counts every
    cell and cost measurement still to run at the seconds per image each model has taken so
    far (the mean of the others for a model not run yet); costs are restorations of the cost
    shape, scaled by what the measured ones took."""

    def __init__(self, enabled, images, costs, cost_pixels):
        self.enabled, self.tty = enabled, enabled and sys.stderr.isatty()
        self.start = self.tick = time.perf_counter()
        self.left, self.costs = dict(images), dict(costs)  # model -> images, restorations to go
        self.cost_pixels, self.spent, self.pixels = cost_pixels, {}, [0, 0]
        self.cost_factor = [0.0, 0.0]  # seconds the costs took, and were estimated to take
        self.done, self.total = 0, sum(self.left.values())

    def _rate(self, model):
        rates = {m: s / n for m, (s, n) in self.spent.items() if n}
        return rates.get(model, np.mean(list(rates.values())) if rates else None)

    def cost_estimate(self, model):
        scale = self.cost_pixels * self.pixels[1] / self.pixels[0] if self.pixels[0] else 1.0
        factor = self.cost_factor[0] / self.cost_factor[1] if self.cost_factor[1] else 1.0
        rate = self._rate(model)
        return None if rate is None else self.costs.get(model, 0) * rate * scale * factor

    def eta(self):
        """Seconds left, or None before any image is restored."""
        parts = [self._rate(m) and self._rate(m) * n for m, n in self.left.items() if n] + \
            [self.cost_estimate(m) for m, n in self.costs.items() if n]
        return None if any(p is None for p in parts) else float(sum(parts))

    def images(self, model, count, pixels):
        now, spent = time.perf_counter(), self.spent.setdefault(model, [0.0, 0])
        spent[0], spent[1] = spent[0] + now - self.tick, spent[1] + count
        self.tick, self.done = now, self.done + count
        self.left[model] = max(0, self.left.get(model, 0) - count)
        self.pixels = [self.pixels[0] + pixels, self.pixels[1] + count]

    def skip(self, model, count):
        """A failed cell's images: nothing left to do for them."""
        self.left[model], self.total = max(0, self.left.get(model, 0) - count), self.total - count
        self.tick = time.perf_counter()

    def cost_done(self, model, seconds):
        estimate = self.cost_estimate(model)
        if estimate:
            self.cost_factor = [self.cost_factor[0] + seconds, self.cost_factor[1] + estimate]
        self.costs[model], self.tick = 0, time.perf_counter()

    def show(self, label, final=False):
        if self.enabled and (self.tty or final):
            eta = self.eta()
            line = (f'{label} | grid {self.done}/{self.total} images | '
                    f'{time.perf_counter() - self.start:.0f}s elapsed, '
                    f'{"ETA –" if eta is None else f"ETA {eta:.0f}s"}')
            sys.stderr.write(('\r' + line + '\x1b[K' + '\n' * final) if self.tty else line + '\n')
            sys.stderr.flush()


class _ProgressHook(Hook):
    """Counts the images of a cell as the test loop restores them (all processes' share)."""

    def __init__(self, progress, model, label, world_size, size):
        self.progress, self.model, self.label = progress, model, label
        self.world_size, self.size, self.seen = world_size, size, 0

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        report_progress('evaluation', detail=f'{self.label}: batch {batch_idx + 1}')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        report_progress('evaluation', detail=f'{self.label}: batch {batch_idx + 1} done')
        count = min(self.size - self.seen, len(outputs or ()) * self.world_size)
        pixels = sum(int(np.prod(o.pred_img.shape[-2:])) for o in outputs or ()) * self.world_size
        self.seen += count
        self.progress.images(self.model, count, pixels)
        self.progress.show(f'{self.label}: {self.seen}/{self.size} images')


class _Models:
    """The model of an entry for a set (per-set configs or checkpoints give several), loaded
    when first asked for and kept until another is needed: one model in memory."""

    def __init__(self, run):
        self.run, self.key, self.value = run, None, None

    def get(self, entry, dataset):
        from restorelab.apis import load_restorer

        ref = entry_ref(entry, dataset)
        if json.dumps(ref, sort_keys=True, default=str) != self.key:
            self.key, self.value = json.dumps(ref, sort_keys=True, default=str), None
            try:  # a failure is kept: the next set of the same files fails the same way
                with deterministic(self.run['inference']['seed'], self.run['device']):
                    self.value = load_restorer(ref, self.run['device'],
                                               restorer_test_cfg(self.run['inference']))
            except Exception as err:
                self.value = err
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def run_benchmark(bench, out_dir, device='cpu', models=None, datasets=None, resume=False,
                  save_images=False, progress=True, log=print, measure_costs=True, limit=None,
                  quantize=None, sheet_images=4, launcher='none'):
    """Run the grid of ``bench`` (a BENCH_CONFIG path/Config/dict) and write every output
    to ``out_dir``; returns the results dict (as written to ``results.json``; None on every
    process but the first of a distributed run).

    Args:
        models, datasets: names to run (list or comma-separated string); None = all.
        resume: reuse the finished cells (and model costs) of ``out_dir/results.json``
            whose model, dataset and inference settings are unchanged.
        save_images: write the 8-bit restored images to ``out_dir/images/<model>/<dataset>/``
            and one contact sheet per set to ``out_dir/contact_sheets/<dataset>.png``.
        measure_costs: measure parameters, FLOPs, latency and memory of every model run
            (``False``: quality only; costs already in results.json are kept).
        limit: score only the first ``limit`` images of each set and time one run without
            warm-up (a quick look; table.md and the plot say so); None = every image.
        quantize: 'round' or 'truncate', overriding the config's ``inference.quantize``.
        sheet_images: images (rows) per contact sheet.
        launcher: 'none', or 'pytorch'/'slurm' in one of the processes that
            tools/dist_benchmark.sh / tools/slurm_benchmark.sh start.
    """
    from mmengine.dist import broadcast_object_list

    from restorelab.engine import launch
    from restorelab.evaluation.functional import check_quantize

    cfg = check_bench_config(bench)
    for name, value in (('--limit', 1 if limit is None else limit), ('--sheet-images', sheet_images)):
        if not (isinstance(value, int) and value >= 1):
            raise BenchmarkError(f'{name} must be a positive number of images, got {value!r}')
    try:
        cfg['inference']['quantize'] = check_quantize(quantize or cfg['inference']['quantize'])
    except ValueError as err:
        raise BenchmarkError(f'--quantize: {err}') from None
    device = check_device(device, '--device')
    model_specs, dataset_specs = (select(cfg['models'], models, 'models'),
                                  select(cfg['datasets'], datasets, 'datasets'))
    rank, world_size = launch.init_distributed(launcher)
    if device.startswith('cuda') and world_size > 1:
        device = launch.default_device()
    cost_cfg = dict(cfg['cost'], **(dict(runs=1, warmup=0) if limit else {}))
    run = dict(out_dir=out_dir, device=device, inference=_jsonable(cfg['inference']), limit=limit,
               cost_cfg=_jsonable(cost_cfg), save_images=save_images, log=log, rank=rank,
               world_size=world_size, launcher=launcher)
    results_path, previous = os.path.join(out_dir, 'results.json'), [dict(cells={}, cost={})]
    if rank == 0:
        os.makedirs(out_dir, exist_ok=True)
        if resume:
            previous[0] = load_results(results_path) if os.path.isfile(results_path) else \
                BenchmarkError(f'--resume: no {results_path!r} to resume from; run without '
                               '--resume first (or check --out)')
    if world_size > 1:  # every process runs the cells the first one finds unfinished
        broadcast_object_list(previous)
    if isinstance(previous[0], Exception):
        raise previous[0]
    results = _start_results(cfg, run, previous[0])
    todo = [(m, d) for m in model_specs for d in dataset_specs
            if not _reusable(results['cells'].get(cell_id(m['name'], d['name'])),
                             _cell_record(m, d, run))]
    if len(model_specs) * len(dataset_specs) > len(todo) and rank == 0:
        log(f'resume: {len(model_specs) * len(dataset_specs) - len(todo)} finished cell(s) taken '
            f'from {results_path}')
    cost_todo = [m for m in model_specs if measure_costs and not _reusable(
        results['cost'].get(m['name']), _cost_record(m, run))]
    built = run['built'] = {d['name']: _build_dataset(d, limit) for d in dataset_specs}
    run['sizes'] = {n: 1 if isinstance(d, Exception) else max(1, len(d)) for n, d in built.items()}
    images = {m['name']: sum(run['sizes'][d['name']] for m2, d in todo if m2 is m)
              for m in model_specs}
    runs = cost_cfg['runs'] + cost_cfg['warmup'] + COST_EXTRA_RUNS
    run['bar'] = _Progress(progress and rank == 0, images, {
        m['name']: 0 if m.get('type') == 'identity' else runs for m in cost_todo},
        cost_cfg['shape'][1] * cost_cfg['shape'][2])
    loaded = _Models(run)
    try:
        for mspec, dspec in todo:
            cell = _run_cell(mspec, dspec, loaded, run)
            if rank == 0:
                results['cells'][cell_id(mspec['name'], dspec['name'])] = cell
                write_json(results_path, results)
    except Exception as err:
        if world_size == 1:
            raise
        raise BenchmarkError(
            f'process {rank} of {world_size} stopped: {describe_error(err)}. The cells finished '
            f'before are in {results_path}: fix the cause and run the same command with --resume '
            'to run the others.') from err
    loaded.value = None
    if world_size > 1:
        launch.finish_distributed()
        if rank:
            return None
        shutil.rmtree(os.path.join(out_dir, '.collect'), ignore_errors=True)
    for mspec in cost_todo:  # one process, after the cells: its share of the time is known
        results['cost'][mspec['name']] = _measure_cost(mspec, run)
    if save_images:
        results['contact_sheets'] = _write_contact_sheets(out_dir, model_specs, dataset_specs,
                                                          built, sheet_images, log)
    results['comparisons'] = comparisons(results, cfg['reference'], cfg['inference']['seed'])
    write_outputs(results, out_dir)
    return results


def _build_dataset(dspec, limit):
    """The test set of a dataset entry (its first ``limit`` images), or the error that stopped
    it (recorded by its cells): built once per run, shared by its cells and contact sheet."""
    from mmengine.registry import DefaultScope

    from restorelab.registry import DATASETS
    dataset_cfg = dict(copy.deepcopy(dspec['loader']['dataset']),
                       **({'indices': limit} if limit else {}))
    try:
        with DefaultScope.overwrite_default_scope('restorelab'):
            return DATASETS.build(dataset_cfg)
    except Exception as err:  # the run goes on
        return err


def _cell_record(mspec, dspec, run):
    return dict(model=mspec['name'], dataset=dspec['name'], model_entry=_jsonable(mspec),
                dataset_spec=_jsonable(dict(loader=dspec['loader'], metrics=dspec['metrics'])),
                inference=run['inference'], limit=run['limit'])


def _cost_record(mspec, run):
    return dict(model_entry=_jsonable(mspec), settings=run['cost_cfg'],
                inference=run['inference'], device=run['device'])


def _reusable(old, new):
    """A finished cell (or cost) of results.json whose settings are those of this run."""
    return old is not None and old.get('status') in ('ok', 'unscored') and all(
        old.get(k) == v for k, v in new.items() if k not in ('model', 'dataset'))


def _start_results(cfg, run, previous):
    """The results dict: this run's environment and settings, and the cells and costs of
    ``previous`` whose model and dataset are still in the config."""
    models, sets = [m['name'] for m in cfg['models']], [d['name'] for d in cfg['datasets']]
    return dict(
        version=RESULTS_VERSION, environment=collect_environment(run['device']),
        processes=run['world_size'], inference=run['inference'], cost_settings=run['cost_cfg'],
        models=models, identity=[m['name'] for m in cfg['models'] if m.get('type') == 'identity'],
        limit=run['limit'], reference=cfg['reference'],
        datasets=[dict(name=d['name'], config=d['entry']['config'], columns=[
            {k: v for k, v in c.items() if k not in ('cfg', 'quantized')} for c in d['columns']])
            for d in cfg['datasets']],
        cells={k: c for k, c in previous.get('cells', {}).items()
               if c['model'] in models and c['dataset'] in sets},
        cost={k: c for k, c in previous.get('cost', {}).items() if k in models})


def _prepare_cell(mspec, dspec, loaded, run):
    """``((model, dataloader, evaluator), None)`` of a cell, or ``(None, reason)``; on several
    processes every process gets the same answer (one that fails fails the cell for all)."""
    from mmengine.dist import all_gather_object
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from restorelab.registry import METRICS

    parts, reason, what = None, None, 'dataset did not load: '
    try:
        dataset = run['built'][dspec['name']]
        if isinstance(dataset, Exception):  # before the model: no download for a missing set
            raise dataset
        what = 'model did not load: '
        model = loaded.get(mspec, dspec['name'])
        what = ''
        with DefaultScope.overwrite_default_scope('restorelab'):
            loader = Runner.build_dataloader(dict(dspec['loader'], dataset=dataset),
                                             seed=run['inference']['seed'])
            metrics = [METRICS.build(dict(c['cfg'], prefix=dspec['name'], **(
                {'quantize': run['inference']['quantize']} if c['quantized'] else {})))
                for c in dspec['columns']]
        for i, metric in enumerate(metrics):
            # Several processes gather the per-image values through files in the output
            # folder (which every machine of a run shares), removed once read.
            metric.collect_dir = os.path.join(run['out_dir'], '.collect', str(i))
        parts = (model, loader, Evaluator(metrics))
    except Exception as err:  # the run goes on
        reason = what + describe_error(err)
    if run['world_size'] > 1:
        reason = next((r for r in all_gather_object(reason) if r is not None), None)
    return (None, reason) if reason else (parts, None)


def _run_cell(mspec, dspec, loaded, run):
    """Restore and score one (model, set) cell; a model or set that does not load is recorded,
    never raised."""
    from restorelab.engine import launch

    cell = _cell_record(mspec, dspec, run)
    label, bar, start = f'{mspec["name"]} | {dspec["name"]}', run['bar'], time.perf_counter()
    report_progress('start-up', detail=f'{label}: loading the model and the data')
    parts, reason = _prepare_cell(mspec, dspec, loaded, run)
    if reason:
        bar.skip(mspec['name'], run['sizes'][dspec['name']])
        cell.update(status='failed', reason=reason, num_images=0, mean={}, images=[])
    else:
        model, loader, evaluator = parts
        hooks = [_ProgressHook(bar, mspec['name'], label, run['world_size'], len(loader.dataset))]
        if run['save_images']:
            from restorelab.engine.hooks import SaveResultsHook
            hooks.append(SaveResultsHook(os.path.join(run['out_dir'], 'images', mspec['name'],
                                                      dspec['name']), run['inference']['quantize']))
        name = ''.join(ch if ch.isalnum() else '_' for ch in label)
        runner = launch.build_runner(
            dict(work_dir=os.path.join(run['out_dir'], 'logs', name), test_cfg=dict(type='TestLoop'),
                 default_scope='restorelab', launcher=run['launcher'], log_level='WARNING',
                 randomness=dict(seed=run['inference']['seed']),
                 experiment_name=f'{name}_{next(_RUNNERS)}',
                 default_hooks=dict(logger=None, checkpoint=None, param_scheduler=None),
                 visualizer=dict(type='Visualizer', vis_backends=[]),
                 env_cfg=dict(dist_cfg=dict(backend='gloo' if run['device'] == 'cpu' else 'nccl'))),
            model=model, test_dataloader=loader, test_evaluator=evaluator, custom_hooks=hooks)
        with deterministic(run['inference']['seed'], run['device']):
            mean = {k.split('/', 1)[-1]: float(v) for k, v in runner.test().items()}
        for handler in list(runner.logger.handlers):  # one log file per cell, closed after it
            if hasattr(handler, 'baseFilename'):
                handler.close()
                runner.logger.removeHandler(handler)
        records = [dict(key=loader.dataset.get_data_info(i).get('key', str(i)))
                   for i in range(len(loader.dataset))]
        for metric in evaluator.metrics:  # the values of the whole set, on the first process
            for record, value in zip(records, getattr(metric, 'per_image', [])):
                record.update({k: v for k, v in value.items() if k != 'key'})
        cell.update(status='ok' if mean else 'unscored', num_images=len(records), mean=mean,
                    reason=None if mean else f'the test_evaluator of {dspec["config"]} is empty',
                    images=records)
    cell['seconds'] = round(time.perf_counter() - start, 3)
    bar.show(f'{label}: {cell["num_images"]} images', final=True)
    if run['rank'] == 0 and (cell['status'] == 'failed' or not bar.enabled):
        run['log'](f'{label}: ' + (f'failed: {cell["reason"]}' if cell['status'] == 'failed' else
                                   ', '.join(f'{k} {v:.4f}' for k, v in cell['mean'].items())
                                   or cell['status']))
    return cell


def _measure_cost(mspec, run):
    """Cost of a model, built from its config (the first one for per-dataset configs) with its
    initial weights: parameters, FLOPs, latency and memory do not depend on the weights. An
    .onnx entry: the arch of its config counted, the file timed in ONNX Runtime."""
    from restorelab.apis import load_restorer, model_ref
    from restorelab.apis.zoo import find_release, resolve_config
    from .cost import measure_cost, release_formulation

    record, start = _cost_record(mspec, run), time.perf_counter()
    report_progress('evaluation', detail=f'cost of {mspec["name"]}')
    settings, inference = record['settings'], record['inference']
    try:
        ref = model_ref(entry_ref(mspec))
        config = resolve_config(find_release(ref['zoo'])) if ref['kind'] == 'released' else \
            ref['config']
        device, test_cfg = 'cpu' if ref['kind'] == 'onnx' else run['device'], restorer_test_cfg(inference)
        args = (settings['shape'], settings['runs'], settings['warmup'], device, inference['seed'])
        if ref['kind'] == 'identity':
            record.update(params=0, flops=0, paper_flops=0, fast_path=False, latency_ms=None,
                          peak_memory_mb=None)
        elif config is None:
            raise BenchmarkError(f'model {mspec["name"]!r}: an .onnx without its config has no '
                                 'arch to count parameters and FLOPs of; give config=')
        else:
            with deterministic(inference['seed'], device):
                model = timed = load_restorer(dict(config=config), device, test_cfg)
            if ref['kind'] == 'onnx':  # the exported file runs the release formulation
                model.arch = release_formulation(model.arch)
                timed = load_restorer(dict(onnx=ref['onnx'], config=config), 'cpu', test_cfg)
            record.update(measure_cost(model, *args, timed=timed))
        record.update(status='ok', reason=None)
    except Exception as err:
        record.update(status='failed', reason=describe_error(err))
    run['bar'].cost_done(mspec['name'], time.perf_counter() - start)
    if record['status'] == 'failed' or record.get('latency_ms') is not None:
        run['log'](f'cost of {mspec["name"]}: ' + (
            f'failed: {record["reason"]}' if record['status'] == 'failed' else
            f'{record["params"]:,} parameters, {record["paper_flops"] / 1e9:.3f} G FLOPs (MACs), '
            f'{record["latency_ms"]:.1f} ms/image at {record["flops_shape"]}'))
    run['bar'].show(f'cost of {mspec["name"]}', final=True)
    return record


def _write_contact_sheets(out_dir, model_specs, dataset_specs, built, count, log):
    """One contact sheet per set, ``contact_sheets/<set>.png``, so that results can be looked at
    rather than only read: a labelled row per image (the first ``count`` of the set, scaled to
    a common height): the rainy input, each model's saved 8-bit result (a failed cell's as a
    grey 'missing' tile) and the ground truth of paired sets. Returns ``{set: path in out_dir}``."""
    def saved(model, dataset, key):
        try:
            return imread_rgb(os.path.join(out_dir, 'images', model, dataset, key + '.png'))
        except ImageReadError:
            return None

    written, models = {}, [m['name'] for m in model_specs if m.get('type') != 'identity']
    for dspec in dataset_specs:
        dataset, rel = built[dspec['name']], os.path.join('contact_sheets', f'{dspec["name"]}.png')
        if isinstance(dataset, Exception):  # a set that did not load has no sheet
            continue
        rows = []
        for sample in (dataset[i] for i in range(min(count, len(dataset)))):
            key, gt = sample['data_samples'].metainfo['key'], sample['data_samples'].get('gt_img')
            rows.append((key, [('rainy input', tensor_to_uint8(sample['inputs']))] +
                         [(m, saved(m, dspec['name'], key)) for m in models] +
                         ([] if gt is None else [('ground truth', tensor_to_uint8(gt))])))
        try:
            imwrite_rgb(os.path.join(out_dir, rel), image_grid(rows, **CONTACT_SHEET))
        except (OSError, ValueError) as err:
            log(f'contact sheet of {dspec["name"]} not written: {describe_error(err)}')
            continue
        written[dspec['name']] = rel
        log(f'contact sheet of {dspec["name"]}: {os.path.join(out_dir, rel)}')
    return written
