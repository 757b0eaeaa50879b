"""Writers of the benchmark's outputs: results.json, results.csv, table.md and
psnr_vs_latency.png (matplotlib with the non-interactive Agg backend, so no display
is needed; matplotlib comes with mmengine). The columns are the evaluators' metrics as
results.json lists them (name, direction, decimals): nothing here knows a metric by name."""
import csv
import json
import math
import os

import numpy as np

from restorelab.utils.errors import BenchmarkError
from restorelab.utils.fileio import from_json_safe, write_json

BOOTSTRAP_SAMPLES = 2000


def load_results(path):
    """Read a results.json (written atomically by ``restorelab.utils.fileio.write_json``, PSNR
    ``inf`` as the string ``"inf"``), ``"inf"`` back to inf."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        data = err
    if not (isinstance(data, dict) and isinstance(data.get('cells'), dict)):
        raise BenchmarkError(f'cannot read {path!r} as a benchmark results.json ('
                             f'{data if isinstance(data, Exception) else "no cells"}); remove it '
                             'or run without --resume')
    return from_json_safe(data)


def _cell(results, model, dataset):
    return results['cells'].get(f'{model}|{dataset}')


def _grid(results):
    """Model and dataset entries (config order) that have at least one cell."""
    cells = results['cells'].values()
    models = [m for m in results['models'] if any(c['model'] == m for c in cells)]
    datasets = [d for d in results['datasets'] if any(c['dataset'] == d['name'] for c in cells)]
    return models, datasets


def _columns(datasets, other=False):
    return [(d['name'], c) for d in datasets for c in d['columns'] if c['other'] == other]


def _fmt(value, column):
    return '∞' if math.isinf(value) else f'{value:.{column["decimals"]}f}'


def _md(text):
    return ' '.join(str(text).split()).replace('|', '\\|')


def _ranks(results, models, dataset, column):
    """``{model: 1 or 2}``: the best and second best values as displayed; the identity row
    (the rainy input) is not ranked."""
    values = {}
    for model in models:
        cell = _cell(results, model, dataset)
        if cell and cell['status'] == 'ok' and column['name'] in cell['mean'] and \
                model not in results['identity']:
            values[model] = round(cell['mean'][column['name']], column['decimals'])
    distinct = sorted(set(values.values()), reverse=column['higher_is_better'])
    return {m: distinct.index(v) + 1 for m, v in values.items() if distinct.index(v) < 2}


def quality_table(results, other=False):
    """One row per model, one column per set and metric (the paper's Table 1 layout; NIQE and
    BRISQUE columns for sets without ground truth, its Table 2), best in bold, second
    underlined; ``other=True``: the same images in the other convention (RGB beside Y)."""
    models, datasets = _grid(results)
    cols = _columns(datasets, other)
    arrow = {True: '↑', False: '↓'}
    lines = ['| Model | ' + ' | '.join(f'{d} {c["name"]} {arrow[c["higher_is_better"]]}'
                                        for d, c in cols) + ' |',
             '|' + '|'.join([':---'] + [':---:'] * len(cols)) + '|']
    order = [m for m in models if m in results['identity']] + \
        [m for m in models if m not in results['identity']]
    notes = {}  # one footnote per distinct reason, naming every cell it explains
    for model in order:
        for dataset in dict.fromkeys(d for d, _ in cols):
            cell = _cell(results, model, dataset)
            if cell and (cell['status'] != 'ok' or not cell['mean']):
                reason = cell['reason'] if cell['status'] == 'failed' else \
                    f'not scored: {cell.get("reason")}'
                notes.setdefault(reason, []).append(f'{model} on {dataset}')
    number = {reason: i for i, reason in enumerate(notes, 1)}
    ranks = {(d, c['name']): _ranks(results, models, d, c) for d, c in cols}
    for model in order:
        row = [_md(model) + (' (rainy input)' if model in results['identity'] else '')]
        for dataset, column in cols:
            cell = _cell(results, model, dataset)
            if cell is None:
                row.append('')
            elif cell['status'] == 'failed':
                row.append(f'failed[^{number[cell["reason"]]}]')
            elif not cell['mean']:
                row.append(f'–[^{number["not scored: " + str(cell.get("reason"))]}]')
            elif column['name'] not in cell['mean']:
                row.append('–')
            else:
                text = _fmt(cell['mean'][column['name']], column)
                place = ranks[(dataset, column['name'])].get(model)
                row.append(f'**{text}**' if place == 1 else f'<u>{text}</u>' if place == 2 else text)
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines, [f'{", ".join(where)}: {reason}' for reason, where in notes.items()]


def comparisons(results, reference=None, seed=0, samples=BOOTSTRAP_SAMPLES):
    """For each set, every model against a reference model (``reference``, else the best mean):
    the mean per-image difference of the set's first metric (PSNR for paired sets) with a 95 %
    percentile bootstrap interval (``samples`` resamples of the images, seeded) and the share
    of images where the model is better. Images are paired by key; infinite values (an image
    equal to its ground truth) are left out."""
    out = {}
    for dataset in results['datasets']:
        declared = [c for c in dataset['columns'] if not c['other']]
        if not declared:
            continue
        column = declared[0]
        name, sign = column['name'], 1 if column['higher_is_better'] else -1
        values = {}
        for model in results['models']:
            cell = _cell(results, model, dataset['name'])
            if cell and cell['status'] == 'ok' and name in cell['mean']:
                values[model] = {r['key']: r[name] for r in cell['images'] if name in r}
        ranked = [m for m in values if m not in results['identity']] or list(values)
        if len(values) < 2 or not ranked:
            continue
        ref = reference if reference in values else max(
            ranked, key=lambda m: sign * _cell(results, m, dataset['name'])['mean'][name])
        rows = {}
        for model, by_key in values.items():
            if model == ref:
                continue
            diffs = np.array([by_key[k] - values[ref][k] for k in by_key if k in values[ref]],
                             dtype=np.float64)
            diffs = diffs[np.isfinite(diffs)]
            if not len(diffs):
                continue
            rng = np.random.default_rng(seed)
            means = diffs[rng.integers(0, len(diffs), (samples, len(diffs)))].mean(axis=1)
            low, high = (np.percentile(means, (2.5, 97.5)) if len(diffs) > 1 else (None, None))
            rows[model] = dict(images=int(len(diffs)), mean_diff=float(diffs.mean()),
                               ci_low=None if low is None else float(low),
                               ci_high=None if high is None else float(high),
                               wins=float(np.mean(sign * diffs > 0)))
        out[dataset['name']] = dict(metric=name, reference=ref, higher_is_better=sign > 0,
                                    samples=samples, seed=seed, rows=rows)
    return out


def comparison_table(results):
    """Per set, each model's mean difference to the reference, its interval and its wins."""
    lines = ['| Set | Model | Δ vs reference | 95 % CI | images better |', '|:---|:---|---:|:---:|---:|']
    for dataset, comp in (results.get('comparisons') or {}).items():
        for model, row in comp['rows'].items():
            low, high = row['ci_low'], row['ci_high']
            mark = ' *' if low is not None and (low > 0 or high < 0) else ''
            lines.append(f'| {_md(dataset)} ({comp["metric"]}; reference {_md(comp["reference"])}) '
                         f'| {_md(model)} | {row["mean_diff"]:+.3f}{mark} | '
                         f'{"–" if low is None else f"[{low:+.3f}, {high:+.3f}]"} | '
                         f'{100 * row["wins"]:.0f} % of {row["images"]} |')
    return lines


def cost_table(results):
    """Parameters, FLOPs as the papers count them (the release formulation) and as restorelab
    executes them, median latency and peak memory per model; a footnote names the models that
    run a fast path (math-preserving rewrites that the latency includes)."""
    shape = '×'.join(str(s) for s in results['cost_settings']['shape'])
    lines = [f'| Model | Params (M) | MACs (G) at {shape}, paper | MACs (G), executed | '
             'Latency (ms/image) | Peak memory (MiB) |', '|:---|---:|---:|---:|---:|---:|']
    footnotes = []
    models, _ = _grid(results)
    fast = [m for m in models if (results['cost'].get(m) or {}).get('fast_path')]
    if fast:
        footnotes.append(
            f'fast path: {", ".join(fast)} run{"s" if len(fast) == 1 else ""} a faster formulation '
            'of the same function (math-preserving rewrites, tested equal to the release formulation); '
            'their executed MACs and latency are those of that formulation, the paper MACs those of the '
            'release formulation with the same weights. The other models run their release formulation.')

    def count(value, unit):
        return '–' if value is None else f'{value / unit:.3f}'

    for model in models:
        cost = results['cost'].get(model)
        if cost is None:
            continue
        if cost['status'] == 'failed':
            footnotes.append(f'cost of {model}: {cost["reason"]}')
            lines.append(f'| {_md(model)} | failed[^c{len(footnotes)}] | – | – | – | – |')
            continue
        latency, memory = cost.get('latency_ms'), cost.get('peak_memory_mb')
        name = _md(model) + ('[^c1]' if model in fast else '')
        lines.append(f'| {name} | {count(cost["params"], 1e6)} | '
                     f'{count(cost.get("paper_flops"), 1e9)} | {count(cost["flops"], 1e9)} | '
                     f'{"–" if latency is None else f"{latency:.1f}"} | '
                     f'{"–" if memory is None else f"{memory:.1f}"} |')
    return lines, footnotes


def _protocols(dataset):
    names = ', '.join(c['name'] for c in dataset['columns'] if not c['other'])
    protocols = sorted({c['protocol'] for c in dataset['columns'] if c.get('protocol')})
    return f'{dataset["name"]}: {names or "not scored"}' + (
        f' ({", ".join(protocols)} protocol)' if protocols else '') + f' from {dataset["config"]}'


def markdown_report(results):
    """The text of table.md: quality, the other convention, the comparisons, cost, environment."""
    env, inf, cost = results['environment'], results['inference'], results['cost_settings']
    q_lines, q_notes = quality_table(results)
    o_lines, _ = quality_table(results, other=True)
    c_lines, c_notes = cost_table(results)
    _, datasets = _grid(results)
    quantized = ('rounded to 8 bits' if inf.get('quantize', 'round') == 'round' else
                 'truncated to 8 bits (np.uint8(255 * out), as the PReNet/BRN/AIDNet test '
                 'scripts save)')
    limit = results.get('limit')
    subset = (f' Only the first {limit} images of each set were scored (--limit {limit}): '
              'not the full-set numbers.' if limit else '')
    processes = results.get('processes', 1)
    out = ['# Benchmark', '',
           f'Inference: pad_mode={inf["pad_mode"]}, tile={inf["tile"]}, '
           f'tile_overlap={inf["tile_overlap"]}, self_ensemble={inf["self_ensemble"]}, '
           f'seed={inf["seed"]}; predictions {quantized} before scoring. Sets: '
           f'{"; ".join(_protocols(d) for d in datasets)}. Best in **bold**, second '
           f'<u>underlined</u> (the rainy input is not ranked).{subset}'
           + (f' Run on {processes} processes.' if processes > 1 else ''), '', *q_lines, '']
    out += [f'[^{i}]: {_md(note)}' for i, note in enumerate(q_notes, 1)]
    if len(o_lines[0].split('|')) > 3:
        out += ['', '## The other convention', '', 'The same images scored on the three RGB '
                'channels instead of the luma Y (or the other way round), as some papers report '
                'them; a metric computes both through one function.', '', *o_lines]
    if results.get('comparisons'):
        comp = next(iter(results['comparisons'].values()))
        chosen = "the config's choice" if results.get('reference') else 'the best mean'
        out += ['', '## Is the difference real?', '',
                f'Mean per-image difference of each model to the reference model of the set '
                f'({chosen}), with a '
                f'95 % percentile bootstrap interval ({comp["samples"]} resamples of the images, '
                f'seed {comp["seed"]}), and the share of images where the model is better; * '
                'where the interval excludes zero.', '', *comparison_table(results)]
    sheets = results.get('contact_sheets') or {}
    if sheets:
        out += ['', 'Contact sheets (the rainy input and each model side by side, then the ground '
                'truth of paired sets): ' + ', '.join(f'[{n}]({p})' for n, p in sheets.items()) + '.']
    if len(c_lines) > 2:  # a row per model whose cost was measured (none with --no-cost)
        runs = ('one run without warm-up (--limit: a rough figure)' if limit else
                f'median of {cost["runs"]} run(s) after {cost["warmup"]} warm-up run(s)')
        methods = sorted({c.get('memory_method') for c in results['cost'].values()
                          if c.get('memory_method')})
        out += ['', '## Cost', '',
                f'MACs: multiply-accumulates counted by mmengine.analysis on one '
                f'{"×".join(map(str, cost["shape"]))} input (the papers\' "FLOPs"): "paper" counts '
                f'the function in its release formulation, as the papers do; "executed" counts what '
                f'restorelab runs. Latency: {runs} of the restorer (with the inference settings '
                f'above) on {env["device"]}. Peak memory: '
                + ('; '.join(methods) or 'not measured') + '.', '', *c_lines, '']
        out += [f'[^c{i}]: {_md(note)}' for i, note in enumerate(c_notes, 1)]
    else:
        out += ['', 'Cost not measured (--no-cost).']
    commit = (env.get('git_commit') or 'unknown') + (' (with uncommitted changes)'
                                                     if env.get('git_dirty') else '')
    out += ['', f'restorelab {env["restorelab"]}, torch {env["torch"]}, mmengine '
            f'{env["mmengine"]}, commit {commit}, device {env["device"]}.', '']
    return '\n'.join(out)


def write_csv(results, path):
    """One row per image and one ``mean`` row per cell (with its comparison to the set's
    reference model); failed cells as one row with the reason."""
    models, datasets = _grid(results)
    names = list(dict.fromkeys(c['name'] for d in datasets for c in d['columns']))
    comp_keys = ['reference', 'mean_diff', 'ci_low', 'ci_high', 'wins']
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model', 'dataset', 'image', *names, 'status', 'reason', *comp_keys])
        for model in models:
            for dataset in datasets:
                cell = _cell(results, model, dataset['name'])
                if cell is None:
                    continue
                base = [model, dataset['name']]
                if cell['status'] == 'failed':
                    writer.writerow(base + [''] * (1 + len(names)) + ['failed', cell['reason']] +
                                    [''] * len(comp_keys))
                    continue
                comp = (results.get('comparisons') or {}).get(dataset['name'], {})
                row = dict(comp.get('rows', {}).get(model, {}), reference=comp.get('reference'))
                for values in cell['images'] + [dict(cell['mean'], key='mean')]:
                    extra = [row.get(k, '') if values['key'] == 'mean' else '' for k in comp_keys]
                    writer.writerow(base + [values['key']] + [
                        repr(values[m]) if m in values else '' for m in names] +
                        [cell['status'], cell.get('reason') or ''] +
                        ['' if v is None else v for v in extra])


# Where a label may go around its point (offsets in points, and the alignment that puts the
# text on that side), in the order they are tried.
_LABEL_SPOTS = [(dx * s, dy * t, ha, va) for dx, dy in ((5, 5), (5, 14), (0, 24), (12, 2))
                for s, ha in ((1, 'left'), (-1, 'right')) for t, va in ((1, 'bottom'), (-1, 'top'))]


def place_labels(ax, points):
    """Label each ``(x, y, text)`` point of ``ax`` at the first spot around it where the label
    overlaps no other label or point and stays inside the axes (else at the spot of least
    overlap); returns the text artists."""
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer).padded(-3)
    marks = [Bbox.from_bounds(*(ax.transData.transform((x, y)) - 4), 8, 8) for x, y, _ in points]

    def area(a, b):
        box = Bbox.intersection(a, b)
        return 0.0 if box is None else box.width * box.height

    placed, texts = [], []
    for i, (x, y, text) in enumerate(points):
        tried = []
        for dx, dy, ha, va in _LABEL_SPOTS:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords='offset points',
                                fontsize=8, ha=ha, va=va)
            box = label.get_window_extent(renderer)
            clash = sum(area(box, b) for b in placed + marks[:i] + marks[i + 1:])
            tried.append((clash + box.width * box.height - area(box, frame), len(tried), label, box))
            if tried[-1][0] == 0:
                break
        _, _, label, box = min(tried)
        for *_, other, _ in tried:
            if other is not label:
                other.remove()
        placed.append(box)
        texts.append(label)
    return texts


def quality_latency_figure(results):
    """One panel per set: the mean of its first metric (PSNR for paired sets) against median
    latency, one labelled point per model (labels placed where they overlap nothing); the rainy
    input as a dashed line. The title says how many images each set was scored on with
    --limit. Returns the matplotlib figure (Agg backend)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    models, datasets = _grid(results)
    panels = [(d, next(c for c in d['columns'] if not c['other'])) for d in datasets
              if any(not c['other'] for c in d['columns'])]
    ncols = max(1, min(3, len(panels)))
    nrows = max(1, -(-len(panels) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.8 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis('off')
    if not panels:
        axes.flat[0].text(0.5, 0.5, 'no scored test set', ha='center', va='center')
    subset = f', first {results["limit"]} images' if results.get('limit') else ''
    drawn = []
    for ax, (dataset, column) in zip(axes.flat, panels):
        name, points = column['name'], []
        for model in models:
            cell = _cell(results, model, dataset['name'])
            if not cell or cell['status'] != 'ok' or name not in cell['mean']:
                continue
            value = cell['mean'][name]
            latency = (results['cost'].get(model) or {}).get('latency_ms')
            if model in results['identity']:
                ax.axhline(value, color='gray', linestyle='--', linewidth=1)
                ax.annotate(f'{model} (rainy input)', (0, value), xycoords=('axes fraction', 'data'),
                            xytext=(3, 3), textcoords='offset points', fontsize=8, color='gray')
            elif latency is not None and math.isfinite(value):
                ax.scatter([latency], [value], s=30)
                points.append((latency, value, model))
        if not points:
            ax.text(0.5, 0.5, 'no latency measured (--no-cost, or no model ran)', ha='center',
                    va='center', transform=ax.transAxes, fontsize=8, color='gray')
        protocols = sorted({c.get('protocol') for c in dataset['columns'] if c.get('protocol')})
        ax.set_title(f'{dataset["name"]} ({", ".join(protocols) or name}{subset})', fontsize=10)
        ax.set_xlabel(f'latency (ms/image, {results["environment"]["device"]}, '
                      f'{"×".join(map(str, results["cost_settings"]["shape"]))})')
        ax.set_ylabel(f'{name} ({"higher" if column["higher_is_better"] else "lower"} is better)')
        ax.grid(alpha=0.3)
        ax.margins(0.25)
        drawn.append((ax, points))
    fig.tight_layout()
    for ax, points in drawn:
        place_labels(ax, points)
    return fig


def plot_psnr_vs_latency(results, path):
    """:func:`quality_latency_figure` written to ``path`` (PNG); returns the path."""
    import matplotlib.pyplot as plt
    fig = quality_latency_figure(results)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(results, out_dir):
    """results.json, results.csv, table.md and psnr_vs_latency.png in ``out_dir``."""
    write_json(os.path.join(out_dir, 'results.json'), results)
    write_csv(results, os.path.join(out_dir, 'results.csv'))
    with open(os.path.join(out_dir, 'table.md'), 'w') as f:
        f.write(markdown_report(results))
    plot_psnr_vs_latency(results, os.path.join(out_dir, 'psnr_vs_latency.png'))
