"""Writers of the benchmark's outputs: results.json, results.csv, table.md and
psnr_vs_latency.png (matplotlib with the non-interactive Agg backend, so no display
is needed; matplotlib comes with mmengine)."""
import csv
import json
import math
import os

from restorelab.utils.errors import BenchmarkError
from restorelab.utils.fileio import from_json_safe, write_json

# (key, header, decimals, higher is better)
METRIC_COLUMNS = dict(psnr=('PSNR ↑', 2, True), ssim=('SSIM ↑', 4, True),
                      niqe=('NIQE ↓', 4, False), brisque=('BRISQUE ↓', 3, False))
PAIRED_METRICS = ('psnr', 'ssim')
ALL_METRICS = tuple(METRIC_COLUMNS)


def write_results_json(results, path):
    """Write ``results`` atomically (a crash never leaves half a file; PSNR ``inf`` as
    the string ``"inf"``)."""
    write_json(path, results)


def load_results(path):
    """Read a results.json written by :func:`write_results_json` (``"inf"`` back to inf)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise BenchmarkError(f'cannot read {path!r} ({err}); remove it or run without --resume') \
            from None
    if not isinstance(data, dict) or not isinstance(data.get('cells'), dict):
        raise BenchmarkError(f'{path!r} is not a benchmark results.json (no "cells"); remove it '
                             'or run without --resume')
    return from_json_safe(data)


def _cell(results, model, dataset):
    return results['cells'].get(f'{model}|{dataset}')


def _grid(results):
    """Model and dataset names (config order) that have at least one cell."""
    cells = results['cells'].values()
    models = [m for m in results['models'] if any(c['model'] == m for c in cells)]
    datasets = [d for d in results['datasets'] if any(c['dataset'] == d['name'] for c in cells)]
    return models, datasets


def _is_identity(results, model):
    cell = next((c for c in results['cells'].values() if c['model'] == model), None)
    return cell is not None and cell['model_spec'].get('type') == 'identity'


def write_csv(results, path):
    """One row per image and one ``mean`` row per cell; failed cells as one row with the reason."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model', 'dataset', 'protocol', 'image', *ALL_METRICS, 'status',
                         'reason'])
        models, datasets = _grid(results)
        for model in models:
            for dataset in datasets:
                cell = _cell(results, model, dataset['name'])
                if cell is None:
                    continue
                base = [model, dataset['name'], cell.get('protocol') or '']
                if cell['status'] == 'failed':
                    writer.writerow(base + [''] * (1 + len(ALL_METRICS)) +
                                    ['failed', cell['reason']])
                    continue
                for row in cell['images'] + [dict(cell['mean'], key='mean')]:
                    writer.writerow(base + [row['key']] + [
                        repr(row[m]) if m in row else '' for m in ALL_METRICS] +
                        [cell['status'], cell.get('reason') or ''])


def _columns(datasets):
    """``(set, metric)`` per column: PSNR and SSIM of paired sets, the no-reference metrics
    of unpaired ones (NIQE when none is configured, shown as not scored)."""
    cols = []
    for d in datasets:
        metrics = PAIRED_METRICS if d['type'] == 'paired' else (d.get('metrics') or ['niqe'])
        cols += [(d['name'], m) for m in metrics]
    return cols


def _rounded(value, metric):
    return round(value, METRIC_COLUMNS[metric][1])


def _ranks(results, models, dataset, metric):
    """``{model: 1 or 2}`` for the best and second best values (as displayed) of a column;
    the identity row (the rainy input) is not ranked."""
    values = {}
    for model in models:
        cell = _cell(results, model, dataset)
        if (cell and cell['status'] == 'ok' and metric in cell['mean']
                and not _is_identity(results, model)):
            values[model] = _rounded(cell['mean'][metric], metric)
    higher = METRIC_COLUMNS[metric][2]
    distinct = sorted(set(values.values()), reverse=higher)
    ranks = {}
    for model, value in values.items():
        place = distinct.index(value) + 1
        if place <= 2:
            ranks[model] = place
    return ranks


def _fmt(value, metric):
    if math.isinf(value):
        return '∞'
    return f'{value:.{METRIC_COLUMNS[metric][1]}f}'


def _md_escape(text):
    return ' '.join(str(text).split()).replace('|', '\\|')


def _fmt_count(value, unit):
    return '–' if value is None else f'{value / unit:.3f}'


def quality_table(results):
    """The paper's Table 1 layout: one row per model, one column pair (PSNR, SSIM) per paired
    set and NIQE/BRISQUE columns per unpaired set (the Table 2 layout); best value in bold,
    second underlined."""
    models, datasets = _grid(results)
    cols = _columns(datasets)
    ranks = {(d, m): _ranks(results, models, d, m) for d, m in cols}
    header = ['Model'] + [f'{d} {METRIC_COLUMNS[m][0]}' for d, m in cols]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join([':---'] + [':---:'] * len(cols)) + '|']
    order = ([m for m in models if _is_identity(results, m)]
             + [m for m in models if not _is_identity(results, m)])
    # One footnote per distinct reason, naming every cell it explains.
    notes = {}
    for model in order:
        for dataset in dict.fromkeys(d for d, _ in cols):
            cell = _cell(results, model, dataset)
            if cell and (cell['status'] != 'ok' or not cell['mean']):
                reason = cell['reason'] if cell['status'] == 'failed' else \
                    f'not scored: {cell.get("reason")}'
                notes.setdefault(reason, []).append(f'{model} on {dataset}')
    number = {reason: i for i, reason in enumerate(notes, 1)}
    footnotes = [f'{", ".join(where)}: {reason}' for reason, where in notes.items()]
    for model in order:
        row = [_md_escape(model) + (' (rainy input)' if _is_identity(results, model) else '')]
        for dataset, metric in cols:
            cell = _cell(results, model, dataset)
            if cell is None:
                row.append('')
            elif cell['status'] == 'failed':
                row.append(f'failed[^{number[cell["reason"]]}]')
            elif metric not in cell['mean']:
                row.append(f'–[^{number["not scored: " + str(cell.get("reason"))]}]')
            else:
                text = _fmt(cell['mean'][metric], metric)
                place = ranks[(dataset, metric)].get(model)
                row.append(f'**{text}**' if place == 1 else f'<u>{text}</u>' if place == 2
                           else text)
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines, footnotes


def cost_table(results):
    """Parameters, FLOPs as the papers count them (the release formulation) and as restorelab
    executes them, median latency and peak memory per model.

    When some models run a fast path (math-preserving rewrites that the latency includes), a
    footnote names them, so that a table comparing an optimised model with others says so.
    """
    settings = results['cost_settings']
    shape = '×'.join(str(s) for s in settings['shape'])
    lines = [f'| Model | Params (M) | MACs (G) at {shape}, paper | MACs (G), executed | '
             'Latency (ms/image) | Peak memory (MiB) |', '|:---|---:|---:|---:|---:|---:|']
    footnotes = []
    models, _ = _grid(results)
    fast = [m for m in models if (results['cost'].get(m) or {}).get('fast_path')]
    fast_note = None
    if fast:
        footnotes.append(
            f'fast path: {", ".join(fast)} run{"s" if len(fast) == 1 else ""} a faster formulation '
            'of the same function (math-preserving rewrites, tested equal to the release formulation); '
            'their executed MACs and latency are those of that formulation, the paper MACs those of the '
            'release formulation with the same weights. The other models run their release formulation.')
        fast_note = len(footnotes)
    for model in models:
        cost = results['cost'].get(model)
        if cost is None:
            continue
        if cost['status'] == 'failed':
            note = f'cost of {model}: {cost["reason"]}'
            footnotes.append(note)
            lines.append(f'| {_md_escape(model)} | ' + ' | '.join(
                [f'failed[^c{len(footnotes)}]'] + ['–'] * 4) + ' |')
            continue
        latency = cost.get('latency_ms')
        memory = cost.get('peak_memory_mb')
        # Results written before the paper column existed counted the model as built only.
        paper = cost.get('paper_flops', None if cost.get('fast_path') is not False else cost['flops'])
        name = _md_escape(model) + (f'[^c{fast_note}]' if model in fast else '')
        lines.append(f'| {name} | {_fmt_count(cost["params"], 1e6)} | '
                     f'{_fmt_count(paper, 1e9)} | {_fmt_count(cost["flops"], 1e9)} | '
                     f'{"–" if latency is None else f"{latency:.1f}"} | '
                     f'{"–" if memory is None else f"{memory:.1f}"} |')
    return lines, footnotes


def markdown_report(results):
    """The text of table.md: the quality table, the cost table, the protocol and environment."""
    env, inf, cost = results['environment'], results['inference'], results['cost_settings']
    q_lines, q_notes = quality_table(results)
    c_lines, c_notes = cost_table(results)
    _, datasets = _grid(results)
    protocols = ', '.join(f'{d["name"]}: {d["protocol"] or "not scored"}' for d in datasets)
    quantize = inf.get('quantize', 'round')
    quantized = ('rounded to 8 bits' if quantize == 'round' else
                 'truncated to 8 bits (np.uint8(255 * out), as the PReNet/BRN/AIDNet test '
                 'scripts save)')
    limit = results.get('limit')
    subset = (f' Only the first {limit} images of each set were scored (--limit {limit}): '
              'not the full-set numbers.' if limit else '')
    memory_methods = sorted({c.get('memory_method') for c in results['cost'].values()
                             if c.get('memory_method')})
    out = ['# Benchmark', '',
           f'Inference: pad_mode={inf["pad_mode"]}, tile={inf["tile"]}, '
           f'tile_overlap={inf["tile_overlap"]}, self_ensemble={inf["self_ensemble"]}, '
           f'seed={inf["seed"]}; predictions {quantized} before scoring. '
           f'Protocols: {protocols}. Best in **bold**, second <u>underlined</u> (the rainy '
           f'input is not ranked).{subset}', '', *q_lines, '']
    out += [f'[^{i}]: {_md_escape(note)}' for i, note in enumerate(q_notes, 1)]
    sheets = results.get('contact_sheets') or {}
    if sheets:
        out += ['', 'Contact sheets (the rainy input and each model side by side, then the ground truth of '
                'paired sets): ' + ', '.join(
            f'[{name}]({path})' for name, path in sheets.items()) + '.']
    if len(c_lines) > 2:  # a row per model whose cost was measured (none with --no-cost)
        out += ['', '## Cost', '',
                f'MACs: multiply-accumulates counted by mmengine.analysis on one '
                f'{"×".join(map(str, cost["shape"]))} input (the papers\' "FLOPs"): "paper" counts '
                f'the function in its release formulation, as the papers do; "executed" counts what '
                f'restorelab runs. Latency: median of {cost["runs"]} '
                f'runs after {cost["warmup"]} warm-up runs of the restorer (with the inference '
                f'settings above) on {env["device"]}. Peak memory: '
                + ('; '.join(memory_methods) or 'not measured') + '.', '', *c_lines, '']
        out += [f'[^c{i}]: {_md_escape(note)}' for i, note in enumerate(c_notes, 1)]
    else:
        out += ['', 'Cost not measured (--no-cost).']
    commit = env.get('git_commit') or 'unknown'
    if env.get('git_dirty'):
        commit += ' (with uncommitted changes)'
    out += ['', f'restorelab {env["restorelab"]}, torch {env["torch"]}, mmengine '
            f'{env["mmengine"]}, commit {commit}, device {env["device"]}.', '']
    return '\n'.join(out)


def plot_psnr_vs_latency(results, path):
    """One panel per paired set: mean PSNR against median latency, one labelled point per
    model; the rainy input (identity) as a dashed horizontal line. Returns the path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    models, datasets = _grid(results)
    paired = [d for d in datasets if d['type'] == 'paired']
    if not paired:
        fig, ax = plt.subplots(figsize=(4.5, 3.6))
        ax.axis('off')
        ax.text(0.5, 0.5, 'no scored paired test set', ha='center', va='center')
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path
    ncols = min(3, len(paired))
    nrows = -(-len(paired) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(paired):]:
        ax.axis('off')
    for ax, dataset in zip(axes.flat, paired):
        for model in models:
            cell = _cell(results, model, dataset['name'])
            if not cell or cell['status'] != 'ok' or 'psnr' not in cell['mean']:
                continue
            psnr = cell['mean']['psnr']
            if _is_identity(results, model):
                ax.axhline(psnr, color='gray', linestyle='--', linewidth=1)
                ax.annotate(f'{model} (rainy input)', (0, psnr), xycoords=('axes fraction',
                                                                           'data'),
                            xytext=(3, 3), textcoords='offset points', fontsize=8,
                            color='gray')
                continue
            cost = results['cost'].get(model) or {}
            latency = cost.get('latency_ms')
            if latency is None or math.isinf(psnr):
                continue
            ax.scatter([latency], [psnr], s=30)
            ax.annotate(model, (latency, psnr), xytext=(4, 4), textcoords='offset points',
                        fontsize=8)
        ax.set_title(f'{dataset["name"]} ({dataset.get("protocol") or "NIQE"} protocol)',
                     fontsize=10)
        ax.set_xlabel(f'latency (ms/image, {results["environment"]["device"]}, '
                      f'{"×".join(map(str, results["cost_settings"]["shape"]))})')
        ax.set_ylabel('PSNR (dB)')
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(results, out_dir):
    """results.json, results.csv, table.md and psnr_vs_latency.png in ``out_dir``."""
    write_results_json(results, os.path.join(out_dir, 'results.json'))
    write_csv(results, os.path.join(out_dir, 'results.csv'))
    with open(os.path.join(out_dir, 'table.md'), 'w') as f:
        f.write(markdown_report(results))
    plot_psnr_vs_latency(results, os.path.join(out_dir, 'psnr_vs_latency.png'))
