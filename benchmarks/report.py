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
from harness import REPO_ROOT, RESULTS_DIR  # noqa: E402

BLOCK = re.compile(r'(<!-- results:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)',
                   re.S)
PAGES = ('README.md', 'docs/*.md', 'projects/*/README.md', 'configs/*/README.md')


def records(prefix, results_dir=None):
    """Every record ``<prefix>*.json`` under the results folder, sorted by name."""
    folder = Path(results_dir) if results_dir else RESULTS_DIR
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f'{prefix}*.json'))]


def _run(record):
    return f'{record["date"][:10]}, {record["commit"][:7]}{" (dirty)" if record.get("dirty") else ""}'


def _db(value):
    return '∞' if value is None or math.isinf(value) else f'{value:.1f}'


def _abs(value):
    return '0' if value == 0 else f'{value:.1e}'


def render_equivalence(results_dir=None):
    """The model zoo's equivalence table: one row per model and variant."""
    lines = ['| model | release | variant | params | sizes | float64 max abs | float32 PSNR (dB) | run |',
             '|---|---|---|---|---|---|---|---|']
    for record in records('equivalence-', results_dir):
        res = record['results']
        release = f'{res["release"]["repo"]}@{res["release"]["commit"][:7]}'
        for variant, figures in res['variants'].items():
            sizes = {k: v for k, v in figures.items() if isinstance(v, dict)}
            f64 = max(v['float64_max_abs'] for v in sizes.values())
            f32 = min(v['float32_psnr_db'] for v in sizes.values())
            params = f'{figures["params"]:,}' if 'params' in figures else '—'
            lines.append(f'| {record["name"][len("equivalence-"):]} | {release} | {variant} | {params} '
                         f'| {", ".join(sizes)} | {_abs(f64)} | {_db(f32)} | {_run(record)} |')
    return '\n'.join(lines) + '\n'


def render_zoo_releases(results_dir=None):
    from restorelab.apis import zoo
    return zoo.markdown_tables()


RENDERERS = {
    'equivalence': render_equivalence,
    'zoo-releases': render_zoo_releases,
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
