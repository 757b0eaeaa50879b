"""The local web app of ``tools/webui.py``: upload rainy photos, pick derainers, compare.

The page and its list of models live here. Reading, deraining, tiling, progress, timing and
scoring are ``restorelab.apis`` (:func:`~restorelab.apis.compare.derain_each` over
:func:`~restorelab.apis.derain`, the function ``tools/derain.py`` uses, scored by the PSNR and
SSIM metric objects); every model is a reference loaded by
:func:`~restorelab.apis.load_restorer`. Gradio is imported only by :func:`build_app`
(``pip install -e .[webui]``).
"""
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass

from restorelab.utils.errors import ModelListError, UserInputError, user_error_message
from restorelab.utils.image_io import IMG_EXTENSIONS, imwrite_image

TILING_CHOICES = ('auto', 'off', 'fixed')


@dataclass(frozen=True)
class ModelChoice:
    """One model a user can pick: ``label`` (unique, shown) and ``ref``, its model reference
    (see :func:`restorelab.apis.model_ref`)."""
    label: str
    ref: dict

    @property
    def is_identity(self):
        return self.ref.get('type') == 'identity'

    def describe(self):
        from restorelab.apis import describe_ref
        return describe_ref(self.ref)


def parse_model_arg(text):
    """``'[LABEL=]CONFIG.py:CHECKPOINT'``, a released model's name or ``MODEL.onnx`` (``--models``)
    -> a :class:`ModelChoice`; missing files and unknown names are a :class:`ModelListError`."""
    from restorelab.apis import model_ref

    head = text.split('.py:')[0]
    label, _, rest = text.partition('=') if '=' in head else ('', '', text)
    if '.py:' in rest:
        config, _, checkpoint = rest.partition('.py:')
        ref = dict(config=config + '.py', checkpoint=checkpoint)
        for what, path in (('config', ref['config']), ('checkpoint', checkpoint)):
            if not os.path.isfile(path):
                raise ModelListError(f'--models {text!r}: the {what} file {path!r} does not exist; '
                                     'expected CONFIG.py:CHECKPOINT.pth (or LABEL=CONFIG.py:'
                                     'CHECKPOINT.pth, a released model name or MODEL.onnx)')
        label = label or os.path.splitext(os.path.basename(ref['config']))[0]
    else:
        ref = rest
    try:
        ref = model_ref(ref)
    except UserInputError as err:
        raise ModelListError(f'--models {text!r}: {user_error_message(err)} Files are given as '
                             'CONFIG.py:CHECKPOINT.pth.') from None
    kind = ref.pop('kind')
    ref = dict(type='identity') if kind == 'identity' else {k: v for k, v in ref.items() if v is not None}
    return ModelChoice(label or rest, ref)


def model_choices(models=(), bench=None):
    """The choices named by ``models`` (``--models``, see :func:`parse_model_arg`) followed by
    those of the BENCH_CONFIG ``bench`` (an entry with files per set gives one choice per set).
    Returns ``(choices, inference)``: the :class:`ModelChoice` list and the benchmark's
    ``inference`` settings (the defaults without one), whose restorer keys each model gets."""
    from restorelab.benchmark.config import INFERENCE_DEFAULTS, check_bench_config, entry_ref

    choices, inference = [parse_model_arg(m) for m in models], dict(INFERENCE_DEFAULTS)
    if bench is not None:
        checked = check_bench_config(bench)
        inference = checked['inference']
        for entry in checked['models']:
            sets = next((list(entry[k]) for k in ('config', 'checkpoint', 'zoo', 'onnx')
                         if isinstance(entry.get(k), dict)), None)
            choices += [ModelChoice(f'{entry["name"]} ({s})' if sets else entry['name'],
                                    entry_ref(entry, s)) for s in sets or [None]]
    labels = [c.label for c in choices]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ModelListError(f'model label(s) {twice} name more than one model; give each its own '
                             'with LABEL=CONFIG.py:CHECKPOINT.pth')
    if not choices:
        raise ModelListError('no models: give --models CONFIG.py:CHECKPOINT.pth or a released '
                             'name, or --bench BENCH_CONFIG')
    return choices, inference


class ModelCache:
    """Loads each :class:`ModelChoice` with :func:`~restorelab.apis.load_restorer` on first use
    (the identity gives None: the input is its output) and keeps it; a load that fails raises
    every time it is asked for (the error names the files)."""

    def __init__(self, inference, device='cpu'):
        from restorelab.benchmark.config import restorer_test_cfg
        self.test_cfg, self.device = restorer_test_cfg(inference), device
        self._models, self._lock = {}, threading.Lock()

    def get(self, choice):
        from restorelab.apis import load_restorer
        if choice.is_identity:
            return None
        with self._lock:
            if choice.label not in self._models:
                self._models[choice.label] = load_restorer(choice.ref, self.device, self.test_cfg)
            return self._models[choice.label]
RESULT_HEADERS = ['image', 'model', 'output', 'seconds', 'PSNR (dB)', 'SSIM', 'note']


def options_to_test_cfg(tiling, tile, overlap, self_ensemble):
    """The page's inference options as ``test_cfg`` keys (checked per model by ``derain_each``)."""
    if tiling not in TILING_CHOICES:
        raise ValueError(f'tiling {tiling!r}; expected one of {TILING_CHOICES}')
    tile = {'auto': 'auto', 'off': None}.get(tiling) if tiling != 'fixed' else int(tile)
    return dict(tile=tile, tile_overlap=int(overlap), self_ensemble=bool(self_ensemble))


def unique_names(paths):
    """Base names of ``paths``, a repeated one numbered (``a.png``, ``a.png (2)``)."""
    names, seen = [], {}
    for path in paths:
        name = os.path.basename(path)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f'{name} ({seen[name]})')
    return names


def _safe(text):
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('_') or 'x'


def _describe_output(img):
    channels = 1 if img.ndim == 2 else img.shape[2]
    kind = {1: 'gray', 3: 'RGB', 4: 'RGBA'}[channels]
    return f'{img.shape[1]}x{img.shape[0]} {kind} {img.dtype.itemsize * 8}-bit'


class CancelFlags:
    """One stop flag per browser session: the Stop button sets it, the running job's progress
    callback sees it between two tiles and raises :class:`Cancelled`."""

    def __init__(self):
        self._flags, self._lock = {}, threading.Lock()

    def get(self, session):
        with self._lock:
            return self._flags.setdefault(session, threading.Event())


def build_app(choices, cache, out_root, intro='', log=print):
    """The Gradio Blocks page for ``choices`` (a :class:`ModelChoice` list) loaded through
    ``cache`` (:class:`ModelCache`); outputs are written under ``out_root``, one folder per
    browser session, replaced at each run. ``intro`` is Markdown shown under the title
    (where the models come from)."""
    import gradio as gr

    from restorelab.apis.compare import Cancelled, derain_each, pair_by_name, to_rgb8
    from restorelab.evaluation.functional import PROTOCOLS

    by_label = {c.label: c for c in choices}
    flags = CancelFlags()
    default_models = [c.label for c in choices if not c.is_identity][:1] or [choices[0].label]
    model_help = '\n'.join(f'- **{c.label}**: {c.describe()}' for c in choices)

    def run(files, gt_files, labels, tiling, tile, overlap, self_ensemble, protocol,
            request: gr.Request, progress=gr.Progress()):
        session = _safe(request.session_hash or 'local')
        stop = flags.get(session)
        stop.clear()
        files, gt_files = list(files or []), list(gt_files or [])
        empty = (gr.update(), [], [], [], gr.update(choices=[], value=None), {})
        if not files:
            yield ('**error:** upload at least one rainy image first.', *empty)
            return
        if not labels:
            yield ('**error:** pick at least one model.', *empty)
            return
        try:
            test_cfg = options_to_test_cfg(tiling, tile, overlap, self_ensemble)
        except (TypeError, ValueError):
            yield (f'**error:** tile size {tile!r} and overlap {overlap!r} must be whole numbers '
                   '(fixed tiling needs a tile size).', *empty)
            return
        out_dir = os.path.join(out_root, session)
        shutil.rmtree(out_dir, ignore_errors=True)  # the previous run's files of this session
        os.makedirs(out_dir)
        pairs, unmatched = pair_by_name(files, gt_files)
        names = unique_names(files)
        models = [by_label[label] for label in labels]
        log(f'run: {len(files)} image(s) x {len(models)} model(s) ({", ".join(labels)}), '
            f'test_cfg {test_cfg}, session {session[:8]}')
        notes = [f'ground truth {os.path.basename(g)!r} matches no rainy image by name (not used)'
                 for g in unmatched]

        def report(fraction, text):
            if stop.is_set():
                raise Cancelled(text)
            progress(fraction, desc=text)

        rows, gallery, downloads, views, errors, previews = [], [], [], {}, [], {}
        start = time.perf_counter()
        try:
            for k, res in enumerate(derain_each(files, models, cache.get, test_cfg, pairs, protocol,
                                                progress=report, names=names)):
                where = f'{res.model} on {res.image}'
                if res.error:
                    errors.append(f'**error:** {where}: {res.error}')
                    log(f'error: {where}: {res.error}')
                    rows.append([res.image, res.model, '', None, None, None, res.error])
                else:
                    base = f'{k:03d}_{_safe(os.path.splitext(res.image)[0])}__{_safe(res.model)}'
                    full = os.path.join(out_dir, base + '.png')
                    imwrite_image(full, res.output)
                    preview = full
                    if res.output.dtype != 'uint8' or res.output.ndim != 3 or res.output.shape[2] != 3:
                        preview = os.path.join(out_dir, base + '_preview.png')
                        imwrite_image(preview, to_rgb8(res.output))
                    if res.image not in previews:
                        previews[res.image] = os.path.join(out_dir, f'{k:03d}_input_preview.png')
                        imwrite_image(previews[res.image], to_rgb8(res.input))
                    key = f'{res.image} · {res.model}'
                    views[key] = (previews[res.image], preview)
                    gallery.append((preview, f'{res.model}: {res.seconds:.2f} s'))
                    downloads.append(full)
                    m = res.metrics or {}
                    rows.append([res.image, res.model, _describe_output(res.output),
                                 round(res.seconds, 3), _round(m.get('psnr'), 2),
                                 _round(m.get('ssim'), 4), '; '.join(res.notes)])
                    log(f'{where}: {res.seconds:.2f} s' + (
                        f', PSNR {m["psnr"]:.2f} dB, SSIM {m["ssim"]:.4f}' if m else ''))
                status = '\n\n'.join([f'Running: {len(rows)} of {len(files) * len(models)} done.',
                                      *errors, *notes])
                shown = next(iter(views), None)  # the slider keeps the run's first output
                yield (status, views[shown] if shown else None, gallery, rows, downloads,
                       gr.update(choices=list(views), value=shown), views)
        except Cancelled as err:
            log(f'run cancelled by the user during {err} (session {session[:8]})')
            yield (f'**Stopped** during {err}.', gr.update(), gallery, rows, downloads, gr.update(),
                   views)
            return
        done = len(rows) - len(errors)
        summary = (f'Done: {done} output(s) from {len(files)} image(s) x {len(models)} model(s) in '
                   f'{time.perf_counter() - start:.1f} s' +
                   (f' (PSNR/SSIM on the {protocol!r} protocol)' if pairs else '') + '.')
        yield ('\n\n'.join([summary, *errors, *notes]), gr.update(), gallery, rows, downloads,
               gr.update(), views)

    def request_stop(request: gr.Request):
        flags.get(_safe(request.session_hash or 'local')).set()
        return '**Stopping** after the current tile...'

    def show(key, views):
        return tuple(views[key]) if key in views else gr.update()

    theme = gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'],
                              font_mono=['ui-monospace', 'monospace'])  # no web fonts: offline
    with gr.Blocks(title='restorelab: derain and compare', delete_cache=(600, 3600)) as app:
        app.restorelab_theme = theme
        gr.Markdown('# restorelab: derain your photos, compare derainers')
        if intro:
            gr.Markdown(intro, elem_id='intro')
        with gr.Row():
            with gr.Column(scale=2):
                files = gr.File(label='Rainy images (8/16-bit, gray, RGB, RGBA)', file_count='multiple',
                                file_types=list(IMG_EXTENSIONS), elem_id='rainy')
                gts = gr.File(label='Ground truths (optional; matched by file name, or the one '
                              'beside a single image): PSNR/SSIM', file_count='multiple',
                              file_types=list(IMG_EXTENSIONS), elem_id='gts')
                models = gr.CheckboxGroup([c.label for c in choices], value=default_models,
                                          label='Models', elem_id='models')
                with gr.Accordion('Models: where they come from', open=False):
                    gr.Markdown(model_help)
                with gr.Accordion('Inference options', open=False):
                    tiling = gr.Radio(list(TILING_CHOICES), value='auto', label='Tiling',
                                      info='auto: 512-pixel tiles above 512x512 pixels, so a '
                                      '12-megapixel photo fits in memory', elem_id='tiling')
                    tile = gr.Number(256, precision=0, label='Tile size (fixed tiling)',
                                     elem_id='tile')
                    overlap = gr.Number(32, precision=0, label='Tile overlap', elem_id='overlap')
                    self_ensemble = gr.Checkbox(False, label='Self-ensemble (x8 flips, 8 times slower)',
                                                elem_id='self_ensemble')
                    protocol = gr.Dropdown(list(PROTOCOLS), value='restormer',
                                           label='PSNR/SSIM protocol', elem_id='protocol')
                with gr.Row():
                    run_btn = gr.Button('Derain', variant='primary', elem_id='run')
                    stop_btn = gr.Button('Stop', variant='stop', elem_id='stop')
            with gr.Column(scale=3):
                status = gr.Markdown('Upload images, pick models, press Derain.', elem_id='status')
                slider = gr.ImageSlider(label='Before | after (drag the handle)', format='png',
                                        type='filepath', elem_id='compare', max_height=560)
                pick = gr.Dropdown([], label='Show in the slider', elem_id='pick')
                table = gr.Dataframe(headers=RESULT_HEADERS, label='Results', interactive=False,
                                     wrap=True, elem_id='results')
                gallery = gr.Gallery(label='Outputs (model: seconds)', columns=4, height=260,
                                     object_fit='contain', elem_id='gallery')
                downloads = gr.File(label='Full-resolution results (PNG; 16-bit stays 16-bit)',
                                    file_count='multiple', interactive=False, elem_id='downloads')
        views = gr.State({})
        run_event = run_btn.click(
            run, [files, gts, models, tiling, tile, overlap, self_ensemble, protocol],
            [status, slider, gallery, table, downloads, pick, views], concurrency_limit=1,
            concurrency_id='derain', show_progress='full', show_progress_on=[status])
        stop_btn.click(request_stop, None, status, cancels=[run_event], queue=False)
        pick.change(show, [pick, views], slider, queue=False)
    return app


def _round(value, digits):
    return None if value is None else round(float(value), digits)
