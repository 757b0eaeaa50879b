"""Render the docs' measured tables from the results records (and the zoo's manifest).

    python benchmarks/report.py            # rewrite every marked block in the Markdown files
    python benchmarks/report.py --check    # exit 1 naming each block that differs (a test runs it)

A block in a Markdown file is everything between ``<!-- results:NAME -->`` and
``<!-- /results:NAME -->``; NAME is one of :data:`RENDERERS`. A measured number reaches the docs
only this way: the script that measured it writes a record under ``benchmarks/results/``
(``harness.write_record``), and this script renders the newest records into the pages.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tables  # noqa: E402
from harness import REPO_ROOT, RESULTS_DIR  # noqa: E402

BLOCK = re.compile(r'(<!-- results:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)',
                   re.S)
PAGES = ('README.md', 'docs/*.md', 'projects/*/README.md', 'configs/*/README.md')


def records(prefix, results_dir=None):
    """Every record ``<prefix>*.json`` under the results folder, sorted by name, less the dry runs
    (``--dry-run`` checks a script; git ignores their records)."""
    folder = Path(results_dir) if results_dir else RESULTS_DIR
    found = [json.loads(p.read_text()) for p in sorted(folder.glob(f'{prefix}*.json'))]
    return [r for r in found if not r['name'].endswith('-dry-run') and '--dry-run' not in r.get('command', '').split()]


def _load(values):
    return '?' if not values else f'{values[0]:.2f}'


def source(record):
    """One line saying what measured a record: command, date, commit, machine and its load."""
    m = record['machine']
    commit = 'commit ' + (record['commit'] or 'unknown')[:7] + (' with uncommitted changes' if record.get('dirty') else '')
    gpu = f', {m["gpu"]}' if m.get('gpu') else ''
    early = record['results'].get('load_average_1min') if isinstance(record['results'], dict) else None
    if m.get('load_average') is not None:
        load = f'load average {_load(m.get("load_average_start"))} at the start, {_load(m["load_average"])} at the end'
    elif early:  # a record written before the harness kept the load in ``machine``
        load = f'load average {early["before"]:.2f} at the start, {early["after"]:.2f} at the end'
    else:
        load = 'load average not recorded'
    return (f'`{record["command"]}`: {record["date"][:10]}, {commit}; {m["cpu"]}, {m["cores"]} cores{gpu}, '
            f'torch {m.get("torch", "?")}; {load}.')


def render_script(script, table, missing, full=lambda record: True, extra=None):
    """A renderer: per record of ``script`` (``<script>.json``, ``<script>-<variant>.json``), the line
    saying what measured it and its table; ``missing`` (the command to run) when no record is a
    full run (``full(record)``)."""
    def render(results_dir=None):
        found = [r for r in records(script, results_dir)
                 if r['name'] == script or r['name'].startswith(script + '-')]
        lines = []
        if not any(full(r) for r in found):
            lines += [f'Not measured {"at full size " if found else ""}yet: run `{missing}`.', '']
        for record in found:
            lines += [source(record), '', *table(record['results'])]
            lines += extra(record['results']) if extra else []
            lines.append('')
        return '\n'.join(lines).rstrip('\n') + '\n'
    return render


def _speed_extra(results):
    lines = [f'Float64 max abs difference between the formulations at '
             f'{"×".join(map(str, results["float64_size"]))}: {results["float64_max_abs"]:.1e}.']
    switch_lines = tables.switches(results)
    return ['', *lines] + (['', *switch_lines] if switch_lines else [])


def _full_size(record):
    return record['results'].get('size') == 'full'


def _run(record):
    return f'{record["date"][:10]}, {record["commit"][:7]}{" (dirty)" if record.get("dirty") else ""}'


def _db(value):
    return '∞' if value is None or math.isinf(value) else f'{value:.1f}'


def _abs(value):
    return '0' if value == 0 else f'{value:.1e}'


def _size_figures(figures):
    """``{size: figures}`` of one variant of an equivalence record (its other keys, such as
    ``params``, are not sizes)."""
    return {k: v for k, v in figures.items() if isinstance(v, dict)}


def render_equivalence(results_dir=None):
    """The model zoo's equivalence table: one row per model and variant."""
    lines = ['| model | release | variant | params | sizes | float64 max abs | float32 PSNR (dB) | run |',
             '|---|---|---|---|---|---|---|---|']
    for record in records('equivalence-', results_dir):
        res = record['results']
        release = f'{res["release"]["repo"]}@{res["release"]["commit"][:7]}'
        for variant, figures in res['variants'].items():
            sizes = _size_figures(figures)
            f64 = max(v['float64_max_abs'] for v in sizes.values())
            f32 = min(v['float32_psnr_db'] for v in sizes.values())
            params = f'{figures["params"]:,}' if 'params' in figures else '—'
            lines.append(f'| {record["name"][len("equivalence-"):]} | {release} | {variant} | {params} '
                         f'| {", ".join(sizes)} | {_abs(f64)} | {_db(f32)} | {_run(record)} |')
    return '\n'.join(lines) + '\n'


def render_zoo_releases(results_dir=None):
    from restorelab.apis import zoo
    return zoo.markdown_tables()


def _g(macs):
    return f'{macs / 1e9:.1f}'


def _equivalence_figures(results_dir=None):
    """``{model name in lower case: (worst float64 max abs, worst float32 dB)}`` over every
    variant and size of its equivalence record."""
    worst = {}
    for record in records('equivalence-', results_dir):
        sizes = [v for figures in record['results']['variants'].values()
                 for v in _size_figures(figures).values()]
        worst[record['name'][len('equivalence-'):]] = (
            max(v['float64_max_abs'] for v in sizes), min(v['float32_psnr_db'] for v in sizes))
    return worst


def render_models(results_dir=None):
    """The model zoo's models table: per model, its cost record (parameters and FLOPs at
    256x256), its paper's own figures, its equivalence record and its released weights."""
    from published import COSTS

    from restorelab.apis import zoo

    equivalence = _equivalence_figures(results_dir)
    lines = ['| model | config counted | params | FLOPs (G) at 256² | paper: params / FLOPs | '
             'equal to the release: f64 max abs / f32 dB | weights: by name / link only |',
             '|---|---|---|---|---|---|---|']
    for record in records('cost-', results_dir):
        res = record['results']
        name = res['model']
        flops = _g(res['flops'])
        if res['flops_executed'] != res['flops']:
            flops += f' ({_g(res["flops_executed"])} run)'
        paper = COSTS.get(name)
        paper = f'{paper["params_m"]} M / {paper["flops_g"]} G' if paper else '—'
        key = name.lower().replace('-', '_')
        eq = equivalence.get(key)
        eq = f'{_abs(eq[0])} / {_db(eq[1])}' if eq else 'no record'
        released = [r for r in zoo.list_released() if r.model.split('_')[0] == name]
        by_name = sum(r.downloadable for r in released)
        lines.append(f'| {name} | `{res["config"]}` | {res["params"]:,} | {flops} | {paper} | {eq} '
                     f'| {by_name} / {len(released) - by_name} |')
    return '\n'.join(lines) + '\n'


def render_table1(results_dir=None):
    """The DRSformer paper's Table 1 as published (benchmarks/published.py), with where each
    method is in restorelab."""
    from published import TABLE1, TABLE1_PAPER_NAMES, TABLE1_SETS

    costs = {r['results']['model']: r['results']['config'] for r in records('cost-', results_dir)}
    lines = ['| method | ' + ' | '.join(TABLE1_SETS) + ' | in restorelab |',
             '|---|' + '---|' * (len(TABLE1_SETS) + 1)]
    for method, cells in TABLE1.items():
        label = method + (f' ("{TABLE1_PAPER_NAMES[method]}")' if method in TABLE1_PAPER_NAMES else '')
        where = f'`{costs[method]}`' if method in costs else '—'
        lines.append(f'| {label} | ' + ' | '.join(f'{p:.2f} / {s:.4f}' for p, s in cells)
                     + f' | {where} |')
    return '\n'.join(lines) + '\n'


def render_real_rain_spanet(results_dir=None):
    """SPANet's real-photo check (benchmarks/real_rain_spanet.py): one row per model."""
    lines = ['| model | zoo name | trained on | photos | NIQE ↓ | BRISQUE ↓ | run |',
             '|---|---|---|---|---|---|---|']
    for record in records('real-rain-spanet', results_dir):
        for name, model in record['results']['models'].items():
            if model['status'] != 'ok':
                lines.append(f'| {name} | {model["zoo"] or "—"} | {model["trained_on"] or "—"} | '
                             f'failed: {model["reason"]} | | | {_run(record)} |')
                continue
            photos = ', '.join(image['key'] for image in model['images'])
            lines.append(f'| {name} | {model["zoo"] or "—"} | {model["trained_on"] or "(rainy input)"} '
                         f'| {photos} | {model["mean"]["niqe"]:.3f} | {model["mean"]["brisque"]:.2f} '
                         f'| {_run(record)} |')
    return '\n'.join(lines) + '\n'


RENDERERS = {
    'equivalence': render_equivalence,
    'zoo-releases': render_zoo_releases,
    'drsformer-speed': render_script('drsformer_speed', tables.speed, 'python benchmarks/drsformer_speed.py',
                                     _full_size, _speed_extra),
    'restormer-speed': render_script('restormer_speed', tables.speed, 'python benchmarks/restormer_speed.py',
                                     _full_size, _speed_extra),
    'cpu-roofline': render_script('cpu_roofline', tables.roofline, 'python benchmarks/cpu_roofline.py'),
    'restormer-ops': render_script('restormer_ops_speed', tables.ops, 'python benchmarks/restormer_ops_speed.py'),
    'onnx-speed': render_script('onnx_speed', tables.onnx, 'python benchmarks/onnx_speed.py'),
    'memory-growth': render_script('memory_growth', tables.memory_growth,
                                   'nice -n 19 python benchmarks/memory_growth.py --scratch DIR'),
    'dist-benchmark-time': render_script('dist_benchmark_time', tables.dist_benchmark_time,
                                         'python benchmarks/dist_benchmark_time.py'),
    'resume-time': render_script('resume_time', tables.resume_time,
                                 'nice -n 19 python benchmarks/resume_time.py --scratch DIR --late-from-early'),
    'watchdog-recovery': render_script('watchdog_recovery', tables.watchdog_recovery,
                                       'nice -n 10 python benchmarks/watchdog_recovery.py --scratch DIR'),
    'demo': render_script('demo', tables.demo, 'python tools/demo.py --record benchmarks/results/demo.json',
                          lambda record: not record['results']['quick'] and record['results']['iters_scale'] == 1),
    'gpu-check': render_script('gpu_check', tables.gpu_check, 'bash benchmarks/gpu_check.sh',
                               lambda record: record['results']['environment']['device'] == 'cuda'),
    'models': render_models,
    'table1': render_table1,
    'real-rain-spanet': render_real_rain_spanet,
}


def pages():
    for pattern in PAGES:
        yield from sorted(REPO_ROOT.glob(pattern))


def render_text(text, results_dir=None, source='page'):
    """``text`` with every marked block re-rendered; an unknown NAME is an error."""
    def replace(match):
        name = match.group('name')
        if name not in RENDERERS:
            raise SystemExit(f'{source}: unknown results block {name!r}; known: {", ".join(RENDERERS)}')
        return match.group(1) + RENDERERS[name](results_dir) + match.group(4)
    return BLOCK.sub(replace, text)


def stale_blocks(results_dir=None):
    """``[(page, block name)]`` of the blocks whose text differs from what the records give."""
    stale = []
    for page in pages():
        text = page.read_text()
        for match in BLOCK.finditer(text):
            if render_text(match.group(0), results_dir, page) != match.group(0):
                stale.append((page.relative_to(REPO_ROOT), match.group('name')))
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true', help='only say which blocks differ (exit 1)')
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_blocks()
        for page, name in stale:
            print(f'{page}: block {name!r} differs from the records; run python benchmarks/report.py')
        return 1 if stale else 0
    for page in pages():
        text = page.read_text()
        new = render_text(text, source=page)
        if new != text:
            page.write_text(new)
            print(f'rendered {page.relative_to(REPO_ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
