"""Run the models x datasets grid of a BENCH_CONFIG and collect every figure.

Each (model, dataset) cell restores every image of the set (or the first
``limit``) with the benchmark's one inference protocol, quantises the result to
8 bits (``inference.quantize``: rounded, or truncated as the PReNet-era test
scripts save) and scores it through ``restorelab.evaluation.functional`` -- the
same data pipeline, restorer call and metric function as ``tools/test.py``
(whose metrics quantise the same way), so the numbers are equal. Unpaired sets
are scored with NIQE and/or BRISQUE when their parameter files are given.
A cell that raises (missing checkpoint, unreadable data, out of memory) is
recorded as failed with its reason and the run goes on; ``results.json`` is
rewritten after every cell, so an interrupted run can be resumed.
"""
import contextlib
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from restorelab.utils.errors import BenchmarkError, user_error_message
from .config import check_bench_config, no_reference_metrics, restorer_test_cfg, select
from .cost import count_paper_flops, count_parameters, measure_cost, measure_speed
from .report import load_results, write_outputs, write_results_json

RESULTS_VERSION = 1


def cell_id(model_name, dataset_name):
    return f'{model_name}|{dataset_name}'


def failure_reason(err):
    """One line naming the error type and its message."""
    text = user_error_message(err) if str(err) else repr(err)
    return f'{type(err).__name__}: {" ".join(text.split())}'


def _git_commit():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        commit = subprocess.run(['git', '-C', root, 'rev-parse', 'HEAD'], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode:
            return None, None
        dirty = subprocess.run(['git', '-C', root, 'status', '--porcelain',
                                '--untracked-files=no'], capture_output=True, text=True,
                               timeout=10)
        return commit.stdout.strip(), bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def collect_environment(device):
    """Versions, git commit and device of this run."""
    import mmengine

    import restorelab
    commit, dirty = _git_commit()
    env = dict(restorelab=restorelab.__version__, torch=torch.__version__,
               mmengine=mmengine.__version__, numpy=np.__version__,
               python=platform.python_version(), platform=platform.platform(),
               git_commit=commit, git_dirty=dirty, device=str(device),
               torch_threads=torch.get_num_threads())
    if torch.device(device).type == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(device)
    else:
        env['cpu'] = platform.processor() or platform.machine()
    return env


def check_device(device):
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BenchmarkError(
            f"--device {device!r}: expected 'cpu' or 'cuda' (or 'cuda:N')") from None
    if dev.type not in ('cpu', 'cuda'):
        raise BenchmarkError(f"--device {device!r}: expected 'cpu' or 'cuda'")
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError(f'--device {device}: CUDA is not available on this machine; use '
                             '--device cpu')
    return str(dev)


@contextlib.contextmanager
def deterministic(seed, device):
    """Seed every generator and ask torch for deterministic kernels (warn-only: an op
    without a deterministic version warns instead of failing the cell)."""
    if torch.device(device).type == 'cuda':
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(True, warn_only=True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])


# ---------------------------------------------------------------------- models and data
def _for_dataset(spec, key, dataset_name):
    """``spec[key]``, or its entry for ``dataset_name`` when it is a dict by dataset
    (``dataset_name=None`` takes the first listed)."""
    value = spec[key]
    if isinstance(value, dict):
        name = dataset_name if dataset_name is not None else next(iter(value))
        if name not in value:
            raise BenchmarkError(f'model {spec["name"]!r} lists no {key} for dataset '
                                 f'{name!r} (its {key} dict names {sorted(value)})')
        value = value[name]
    return value


def model_files(spec, dataset_name=None):
    """``(config, checkpoint)`` of model ``spec`` for a dataset: each entry is a path, or a
    dict of paths by dataset name (models trained once per set, as in the papers' tables);
    ``dataset_name=None`` takes the first dataset listed. A released model (``zoo``) gives
    the released name as its checkpoint (fetched when the model is loaded)."""
    if spec['type'] == 'released':
        from restorelab.apis.zoo import find_release, resolve_config
        name = _for_dataset(spec, 'zoo', dataset_name)
        return resolve_config(find_release(name)), name
    return tuple(_for_dataset(spec, key, dataset_name) for key in ('config', 'checkpoint'))


def load_model(spec, inference, device='cpu', dataset_name=None):
    """Build the ImageRestorer of ``spec``'s config with its checkpoint (converted by
    ``spec['convert']`` when set; see :func:`model_files` for per-dataset files) and the
    benchmark's inference settings as its test_cfg."""
    from restorelab.apis import init_model
    from restorelab.models.restorers.inference_utils import check_test_cfg

    config, checkpoint = model_files(spec, dataset_name)
    if spec['type'] == 'released':
        from restorelab.apis.zoo import get_released, load_released_weights
        released = get_released(checkpoint)
        model = init_model(released.config, None, device='cpu')
        load_released_weights(model, released)
        model.test_cfg = check_test_cfg(restorer_test_cfg(inference), model.size_multiple)
        return model.to(device).eval()
    if not os.path.isfile(checkpoint):
        raise BenchmarkError(f'checkpoint file {checkpoint!r} does not exist (model '
                             f'{spec["name"]!r}); check the path in the benchmark config')
    if spec.get('backend') == 'onnxruntime':
        return load_onnx_entry(spec, config, checkpoint, inference, device)
    if spec.get('convert'):
        from restorelab.models.converters import load_official_checkpoint
        model = init_model(config, None, device='cpu')
        state_dict = load_official_checkpoint(checkpoint, spec['convert'], arch=model.arch,
                                              key=spec.get('convert_key'))
        model.arch.load_state_dict(state_dict, strict=True)
    else:
        model = init_model(config, checkpoint, device='cpu')
    model.test_cfg = check_test_cfg(restorer_test_cfg(inference), model.size_multiple)
    return model.to(device).eval()


def load_onnx_entry(spec, config, onnx_path, inference, device='cpu'):
    """The ImageRestorer running ``onnx_path`` in ONNX Runtime (``backend='onnxruntime'``), after
    checking that the file holds the arch ``config`` names."""
    from mmengine.config import Config

    from restorelab.deploy import load_onnx_model

    if device != 'cpu':
        raise BenchmarkError(f'model {spec["name"]!r}: the onnxruntime backend runs on the CPU; '
                             f'run the benchmark with --device cpu (got {device})')
    model = load_onnx_model(onnx_path, restorer_test_cfg(inference))
    arch = Config.fromfile(config, import_custom_modules=False).model.get('arch', {})
    expected = arch.get('type') if isinstance(arch, dict) else None
    if expected and expected != model.arch.arch_name:
        raise BenchmarkError(f'model {spec["name"]!r}: {onnx_path!r} holds a {model.arch.arch_name} '
                             f'but its config {config!r} builds a {expected}; export the config\'s '
                             'model with tools/deploy/export_onnx.py')
    return model


def test_pipeline(paired):
    pipeline = [dict(type='LoadImageFromFile', key='img')]
    if paired:
        pipeline.append(dict(type='LoadImageFromFile', key='gt'))
    return pipeline + [dict(type='PackInputs')]


def build_dataset(spec, limit=None):
    """A PairedImageDataset (paired) or SingleImageDataset (unpaired) with the test pipeline;
    ``limit``: only the first ``limit`` images (in the dataset's natural key order)."""
    from restorelab.datasets import PairedImageDataset, SingleImageDataset

    if spec['type'] == 'paired':
        layout = {k: spec[k] for k in ('data_prefix', 'filename_tmpl', 'ann_file',
                                       'side_by_side', 'allow_unused_gt') if k in spec}
        dataset = PairedImageDataset(data_root=spec['data_root'], pipeline=test_pipeline(True),
                                     test_mode=True, **layout)
    else:
        prefix = spec.get('data_prefix') or dict(img='')
        dataset = SingleImageDataset(data_root=spec['data_root'], data_prefix=prefix,
                                     pipeline=test_pipeline(False))
    if limit is not None and limit < len(dataset):
        dataset = dataset.get_subset(limit)
    return dataset


def _to_uint8(img, quantize='round'):
    from restorelab.evaluation.functional import float_to_uint8
    return float_to_uint8(img.detach().cpu().numpy().transpose(1, 2, 0), quantize)


def restore_sample(model, data):
    """Restore one packed sample (``dict(inputs, data_samples)``) exactly as the runner's
    test loop does; ``model=None`` is the identity (the rainy input). Returns
    ``(pred (3, H, W) float in [0, 1], DataSample)``."""
    from mmengine.dataset import pseudo_collate

    if model is None:
        return data['inputs'], data['data_samples']
    batch = model.data_preprocessor(pseudo_collate([data]), False)
    result = model.predict(batch['inputs'], batch['data_samples'])[0]
    return result.pred_img, result


class _Progress:
    """One line on stderr: the cell, its images, and images done over the whole grid."""

    def __init__(self, total, enabled):
        self.total, self.done, self.enabled = total, 0, enabled
        self.start = time.perf_counter()
        self.tty = enabled and sys.stderr.isatty()

    def show(self, label, index, count, final=False):
        if not self.enabled or not (self.tty or final):
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0
        line = (f'{label}: {index}/{count} images | grid {self.done}/{self.total} images | '
                f'{elapsed:.0f}s elapsed, ETA {eta:.0f}s')
        end = '\n' if final else ''
        sys.stderr.write(('\r' + line + '\x1b[K' + end) if self.tty else line + end)
        sys.stderr.flush()


def load_no_reference_models(spec):
    """``{metric: scorer}`` for an unpaired set: each scorer maps an ``(H, W, 3)`` uint8 RGB
    image to its NIQE / BRISQUE value with the set's parameter files and options."""
    from restorelab.evaluation.functional.brisque import brisque, load_brisque_params
    from restorelab.evaluation.functional.niqe import load_niqe_params, niqe

    scorers = {}
    if spec.get('niqe_params'):
        mu, cov = load_niqe_params(spec['niqe_params'])
        scorers['niqe'] = lambda img: niqe(img, mu, cov, spec['niqe_convert_to'],
                                           spec['crop_border'])
    if spec.get('brisque_params'):
        params = load_brisque_params(spec['brisque_params'], spec.get('brisque_range'))
        scorers['brisque'] = lambda img: brisque(img, params, spec['brisque_convert_to'],
                                                 spec['crop_border'])
    return scorers


def score_cell(model, dataset, spec, progress=None, label='', save_dir=None, scorers=None,
               quantize='round'):
    """Restore and score every image of ``dataset``; returns the cell's ``images`` and ``mean``.

    Paired sets are scored with PSNR/SSIM under ``spec['protocol']``; unpaired ones with
    ``scorers`` (see :func:`load_no_reference_models`). The prediction is quantised to 8
    bits as ``quantize`` says before it is scored and saved.
    """
    from restorelab.evaluation.functional import compute_metrics
    from restorelab.utils.image_io import imwrite_rgb

    paired = spec['type'] == 'paired'
    records = []
    for i in range(len(dataset)):
        data = dataset[i]
        pred, sample = restore_sample(model, data)
        pred_u8 = _to_uint8(pred, quantize)
        key = sample.metainfo.get('key', str(i))
        record = dict(key=key)
        if paired:
            gt_u8 = _to_uint8(sample.gt_img)
            names = (sample.metainfo.get('img_path'), sample.metainfo.get('gt_path'))
            record.update(compute_metrics(pred_u8, gt_u8, spec['protocol'], spec['crop_border'],
                                          names=names))
        else:
            for metric, score in (scorers or {}).items():
                try:
                    record[metric] = score(pred_u8)
                except ValueError as err:
                    raise ValueError(f'{metric.upper()} of {key!r} '
                                     f'({sample.metainfo.get("img_path")}): {err}') from err
        if save_dir:
            imwrite_rgb(os.path.join(save_dir, key + '.png'), pred_u8)
        records.append(record)
        if progress:
            progress.done += 1
            progress.show(label, i + 1, len(dataset))
    metrics = [m for m in ('psnr', 'ssim', 'niqe', 'brisque') if records and m in records[0]]
    mean = {m: float(np.mean([r[m] for r in records])) for m in metrics}
    return records, mean


# ---------------------------------------------------------------------- the grid
def _set_protocol(dspec):
    """The scoring of a set as one name: its PSNR/SSIM protocol, or its no-reference
    metrics joined by '+' ('niqe+brisque'), or None when it is not scored."""
    if dspec['type'] == 'paired':
        return dspec.get('protocol')
    return '+'.join(no_reference_metrics(dspec)) or None


def _cell_template(mspec, dspec, inference, limit=None):
    return dict(model=mspec['name'], dataset=dspec['name'], dataset_type=dspec['type'],
                protocol=_set_protocol(dspec), model_spec=mspec, dataset_spec=dspec,
                inference=inference, limit=limit)


def _reusable(old, new, keys):
    return old is not None and old.get('status') in ('ok', 'unscored') and all(
        old.get(k) == new.get(k) for k in keys)


def _jsonable(value):
    """Specs as JSON would give them back (tuples become lists), for resume comparisons."""
    import json
    return json.loads(json.dumps(value))


def run_benchmark(bench, out_dir, device='cpu', models=None, datasets=None, resume=False,
                  save_images=False, progress=True, log=print, measure_costs=True, limit=None,
                  quantize=None, sheet_images=4):
    """Run the grid of ``bench`` (a BENCH_CONFIG path/Config/dict) and write every output
    to ``out_dir``; returns the results dict (as written to ``results.json``).

    Args:
        models, datasets: names to run (list or comma-separated string); None = all.
        resume: reuse the finished cells (and model costs) of ``out_dir/results.json``
            whose model, dataset and inference settings are unchanged.
        save_images: write the 8-bit restored images to ``out_dir/images/<model>/<dataset>/``
            and one contact sheet per set to ``out_dir/contact_sheets/<dataset>.png``.
        measure_costs: measure parameters, FLOPs, latency and memory of every model run
            (``False``: quality only; costs already in results.json are kept).
        limit: score only the first ``limit`` images of each set (a quick look; stated
            in table.md); None = every image.
        quantize: 'round' or 'truncate', overriding the config's ``inference.quantize``.
        sheet_images: images (rows) per contact sheet.
    """
    cfg = _checked_config(bench, limit, quantize, sheet_images)
    device = check_device(device)
    model_specs = _jsonable(select(cfg['models'], models, 'models'))
    dataset_specs = _jsonable(select(cfg['datasets'], datasets, 'datasets'))
    os.makedirs(out_dir, exist_ok=True)
    run = _Run(out_dir=out_dir, device=device, inference=_jsonable(cfg['inference']),
               cost_cfg=_jsonable(cfg['cost']), limit=limit, resume=resume,
               save_images=save_images, log=log)
    results = _start_results(cfg, run)

    built = {d['name']: _try_build_dataset(d, limit) for d in dataset_specs}
    todo = [(m, d) for m in model_specs for d in dataset_specs if not run.cell_reusable(m, d)]
    run.bar = _Progress(sum(_units(built[d['name']]) for _, d in todo), progress)
    skipped = len(model_specs) * len(dataset_specs) - len(todo)
    if skipped:
        log(f'resume: {skipped} finished cell(s) taken from {run.results_path}')

    for mspec in model_specs:
        model_todo = [d for m, d in todo if m is mspec]
        if measure_costs and not run.cost_reusable(mspec):
            _measure_and_log_cost(mspec, run)
        models = _OneModelAtATime(mspec, run)
        for dspec in model_todo:
            run.cells[cell_id(mspec['name'], dspec['name'])] = _run_cell(
                mspec, dspec, built[dspec['name']], models, run)
            write_results_json(results, run.results_path)
        models.release()
    if save_images:
        results['contact_sheets'] = _write_contact_sheets(
            out_dir, cfg['models'], [m['name'] for m in model_specs], dataset_specs, built,
            sheet_images, log)
    write_outputs(results, out_dir)
    return results


# ------------------------------------------------ the run's settings and what it resumes
def _checked_config(bench, limit, quantize, sheet_images):
    """The checked BENCH_CONFIG, with the command line's ``quantize`` applied."""
    cfg = check_bench_config(bench)
    if limit is not None and not (isinstance(limit, int) and limit >= 1):
        raise BenchmarkError(f'--limit must be a positive number of images, got {limit!r}')
    if not (isinstance(sheet_images, int) and sheet_images >= 1):
        raise BenchmarkError(f'--sheet-images must be a positive number of images, got '
                             f'{sheet_images!r}')
    if quantize is not None:
        from restorelab.evaluation.functional import check_quantize
        try:
            cfg['inference']['quantize'] = check_quantize(quantize)
        except ValueError as err:
            raise BenchmarkError(f'--quantize: {err}') from None
    return cfg


@dataclass
class _Run:
    """What every step of one benchmark run shares."""
    out_dir: str
    device: str
    inference: dict
    cost_cfg: dict
    limit: object
    resume: bool
    save_images: bool
    log: object
    cells: dict = field(default_factory=dict)  # cell id -> cell, as in results.json
    costs: dict = field(default_factory=dict)  # model name -> cost record
    bar: object = None

    @property
    def results_path(self):
        return os.path.join(self.out_dir, 'results.json')

    def cost_record(self, mspec):
        return dict(model_spec=mspec, settings=self.cost_cfg, inference=self.inference,
                    device=self.device)

    def cell_reusable(self, mspec, dspec):
        old = self.cells.get(cell_id(mspec['name'], dspec['name']))
        return self.resume and _reusable(old, _cell_template(mspec, dspec, self.inference,
                                                             self.limit),
                                         ('model_spec', 'dataset_spec', 'inference', 'limit'))

    def cost_reusable(self, mspec):
        return self.resume and _reusable(self.costs.get(mspec['name']), self.cost_record(mspec),
                                         ('model_spec', 'settings', 'inference', 'device'))


def _start_results(cfg, run):
    """The results dict: the environment and settings of this run, and (with ``resume``) the
    cells and costs of ``results.json`` whose model and dataset are still in the config."""
    previous = dict(cells={}, cost={})
    if run.resume:
        if not os.path.isfile(run.results_path):
            raise BenchmarkError(f'--resume: no {run.results_path!r} to resume from; run '
                                 'without --resume first (or check --out)')
        previous = load_results(run.results_path)
    all_models = [m['name'] for m in cfg['models']]
    all_datasets = [d['name'] for d in cfg['datasets']]
    run.cells.update({k: c for k, c in previous.get('cells', {}).items()
                      if c['model'] in all_models and c['dataset'] in all_datasets})
    run.costs.update({k: c for k, c in previous.get('cost', {}).items() if k in all_models})
    return dict(version=RESULTS_VERSION, environment=collect_environment(run.device),
                inference=run.inference, cost_settings=run.cost_cfg, models=all_models,
                limit=run.limit,
                datasets=[dict(name=d['name'], type=d['type'], protocol=_set_protocol(d),
                               metrics=(['psnr', 'ssim'] if d['type'] == 'paired' else
                                        no_reference_metrics(d)))
                          for d in cfg['datasets']],
                cells=run.cells, cost=run.costs)


def _try_build_dataset(dspec, limit):
    """The built dataset, or the exception that stopped it (recorded per cell later)."""
    try:
        return build_dataset(dspec, limit)
    except Exception as err:  # the run goes on
        return err


def _units(dataset):
    """Progress units of a cell: its images, or 1 for a set that did not load."""
    return 1 if isinstance(dataset, Exception) else len(dataset)


# ------------------------------------------------------------------- one model's cells
class _OneModelAtATime:
    """The model of ``mspec`` for a set (per-set configs or checkpoints give several),
    loaded when first asked for and kept until another is needed: one model in memory."""

    def __init__(self, mspec, run):
        self.mspec, self.run = mspec, run
        self.loaded = {}  # (config, checkpoint) -> (model, error)

    def get(self, dataset_name):
        """``(model, None)`` or ``(None, reason)``; ``(None, None)`` for the identity model."""
        if self.mspec['type'] == 'identity':
            return None, None
        try:
            files = model_files(self.mspec, dataset_name)
        except BenchmarkError as err:
            return None, failure_reason(err)
        if files not in self.loaded:
            self.loaded.clear()
            try:
                with deterministic(self.run.inference['seed'], self.run.device):
                    model = load_model(self.mspec, self.run.inference, self.run.device,
                                       dataset_name)
                self.loaded[files] = (model, None)
            except Exception as err:
                self.loaded[files] = (None, failure_reason(err))
                self.run.log(f'model {self.mspec["name"]!r} ({files[1]}) failed to load: '
                             f'{self.loaded[files][1]}')
        return self.loaded[files]

    def release(self):
        self.loaded.clear()


def _measure_and_log_cost(mspec, run):
    name = mspec['name']
    run.costs[name] = cost = _measure_model_cost(mspec, run.cost_record(mspec), run.device)
    if cost['status'] == 'failed':
        run.log(f'cost of {name}: failed: {cost["reason"]}')
    elif cost.get('latency_ms') is not None:
        executed = (f', {cost["flops"] / 1e9:.3f} G executed (fast path)' if cost.get('fast_path')
                    else '')
        run.log(f'cost of {name}: {cost["params"]:,} parameters, {cost["paper_flops"] / 1e9:.3f} G '
                f'FLOPs (MACs){executed}, {cost["latency_ms"]:.1f} ms/image at {cost["flops_shape"]}')


# ----------------------------------------------------------------------------- one cell
def _run_cell(mspec, dspec, dataset, models, run):
    """Load, restore, score one (model, set) cell; a failure is recorded, never raised."""
    cell = _cell_template(mspec, dspec, run.inference, run.limit)
    label = f'{mspec["name"]} | {dspec["name"]}'
    done_before = run.bar.done
    start = time.perf_counter()
    try:
        if isinstance(dataset, Exception):
            raise _CellFailed(f'dataset did not load: {failure_reason(dataset)}')
        model, model_error = models.get(dspec['name'])
        if model_error:
            raise _CellFailed(f'model did not load: {model_error}')
        scorers = load_no_reference_models(dspec) if dspec['type'] == 'unpaired' else None
        save_dir = (os.path.join(run.out_dir, 'images', mspec['name'], dspec['name'])
                    if run.save_images else None)
        with deterministic(run.inference['seed'], run.device):
            images, mean = score_cell(model, dataset, dspec, run.bar, label, save_dir, scorers,
                                      run.inference['quantize'])
        cell.update(status='ok' if mean else 'unscored', reason=None if mean else
                    'no NIQE or BRISQUE parameters given (niqe_params, brisque_params) '
                    'for this unpaired set',
                    num_images=len(images), mean=mean, images=images)
    except Exception as err:
        if isinstance(err, torch.cuda.OutOfMemoryError):
            torch.cuda.empty_cache()
        reason = str(err) if isinstance(err, _CellFailed) else failure_reason(err)
        cell.update(status='failed', reason=reason, num_images=0, mean={}, images=[])
    run.bar.done = done_before + _units(dataset)
    cell['seconds'] = round(time.perf_counter() - start, 3)
    run.bar.show(label, cell['num_images'], cell['num_images'], final=True)
    if cell['status'] == 'failed':
        run.log(f'{label}: failed: {cell["reason"]}')
    elif not run.bar.enabled:
        run.log(f'{label}: ' + (cell['status'] if cell['status'] != 'ok' else ', '.join(
            f'{k.upper()} {v:.4f}' for k, v in cell['mean'].items())))
    return cell


def _write_contact_sheets(out_dir, model_specs, run_now, dataset_specs, built, count, log):
    """One contact sheet per set (see contact_sheet.py): the first ``count`` images, the
    rainy input, the models of the config run now (``run_now``: a failed one as a grey
    tile) or with images saved by an earlier run, the ground truth; returns
    ``{set name: path relative to out_dir}``."""
    from .contact_sheet import write_contact_sheet

    written = {}
    for dspec in dataset_specs:
        dataset = built[dspec['name']]
        if isinstance(dataset, Exception):
            continue
        model_dirs = [(m['name'], os.path.join(out_dir, 'images', m['name'], dspec['name']))
                      for m in model_specs if m['type'] != 'identity']
        model_dirs = [(n, d) for n, d in model_dirs if n in run_now or os.path.isdir(d)]
        samples = []
        for i in range(min(count, len(dataset))):
            data = dataset[i]
            sample = data['data_samples']
            gt = _to_uint8(sample.gt_img) if dspec['type'] == 'paired' else None
            samples.append((sample.metainfo['key'], _to_uint8(data['inputs']), gt))
        rel = os.path.join('contact_sheets', f'{dspec["name"]}.png')
        try:
            write_contact_sheet(os.path.join(out_dir, rel), samples, model_dirs)
        except (OSError, ValueError) as err:
            log(f'contact sheet of {dspec["name"]} not written: {failure_reason(err)}')
            continue
        written[dspec['name']] = rel
        log(f'contact sheet of {dspec["name"]}: {os.path.join(out_dir, rel)}')
    return written


class _CellFailed(Exception):
    """A cell that cannot run because its model or dataset did not load."""


def _measure_model_cost(mspec, record, device):
    """Cost of a model, built from its config (the first one for per-dataset configs) with
    random weights: parameters, FLOPs, latency and memory do not depend on the weights."""
    from restorelab.apis import init_model
    from restorelab.models.restorers.inference_utils import check_test_cfg

    record = dict(record)
    if mspec['type'] == 'identity':
        record.update(status='ok', reason=None, params=0, flops=0, paper_flops=0, fast_path=False,
                      latency_ms=None, peak_memory_mb=None)
        return record
    settings, inference = record['settings'], record['inference']
    try:
        config = record['config'] = model_files(mspec)[0]
        with deterministic(inference['seed'], device):
            model = init_model(config, None, device=device)
        model.test_cfg = check_test_cfg(restorer_test_cfg(inference), model.size_multiple)
        if mspec.get('backend') == 'onnxruntime':  # parameters and FLOPs of the arch, its time in ORT
            # The exported file holds the release's formulation (fast paths are switched off for
            # export), so what ONNX Runtime executes is what the papers count.
            paper = count_paper_flops(model.arch, settings['shape'], inference['seed'])
            record.update(params=count_parameters(model.arch), flops=paper, paper_flops=paper,
                          fast_path=False, flops_shape=list(settings['shape']), device=str(device))
            onnx_path = model_files(mspec)[1]
            model = load_onnx_entry(mspec, config, onnx_path, inference, device)
            record.update(measure_speed(model, settings['shape'], settings['runs'],
                                        settings['warmup'], device, inference['seed']))
        else:
            record.update(measure_cost(model, settings['shape'], settings['runs'],
                                       settings['warmup'], device, inference['seed']))
        record.update(status='ok', reason=None)
    except Exception as err:
        record.update(status='failed', reason=failure_reason(err))
    return record
