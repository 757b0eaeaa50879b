"""The report of a folder evaluation (:mod:`restorelab.evaluation.folder`): the table
``tools/eval_images.py`` prints and the JSON/CSV file it writes."""
import csv
import math
import os

from restorelab.utils.fileio import write_json

from restorelab.utils.errors import FolderEvalError


def _fmt(value):
    return 'inf' if math.isinf(value) else f'{value:.4f}'


def format_report(report, metrics=None):
    """The per-image table and the mean (``metrics``: the names to show, default every one of
    the report), as text for the terminal."""
    metrics = list(report['mean']) if metrics is None else metrics
    width = max([len('image'), len('mean')] + [len(r['key']) for r in report['images']])
    header = f'{"image":<{width}}  ' + '  '.join(f'{m:>8}' for m in metrics)
    protocol = report['protocol']
    if report.get('quantize'):
        protocol += f' (16-bit results brought to 8 bits by {report["quantize"]})'
    lines = [f'protocol: {protocol}', header, '-' * len(header)]
    for r in report['images']:
        lines.append(f'{r["key"]:<{width}}  ' + '  '.join(f'{_fmt(r[m]):>8}' for m in metrics))
    lines.append('-' * len(header))
    lines.append(f'{"mean":<{width}}  '
                 + '  '.join(f'{_fmt(report["mean"][m]):>8}' for m in metrics)
                 + f'   ({report["num_images"]} images)')
    for p in report['skipped']:
        lines.append(f'skipped {p["path"]}: {p["reason"]}')
    if report['ignored']:
        lines.append(f'ignored {len(report["ignored"])} file(s) that match no template / '
                     f'extension: {", ".join(report["ignored"][:5])}'
                     + (' ...' if len(report['ignored']) > 5 else ''))
    return '\n'.join(lines)


def write_report(report, out, metrics=None):
    """Write the report as JSON (``.json``) or a CSV table (``.csv``) with a mean row."""
    metrics = list(report['mean']) if metrics is None else metrics
    ext = os.path.splitext(out)[1].lower()
    if ext not in ('.json', '.csv'):
        raise FolderEvalError(f'output file {out!r} must end in .json or .csv')
    if ext == '.json':
        write_json(out, report)  # PSNR of identical images (inf) as the string "inf"
        return
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['key', 'result', 'gt', *metrics, 'note'])
        for r in report['images']:
            writer.writerow([r['key'], r['result'], r.get('gt', ''), *(repr(r[m]) for m in metrics),
                             ''])
        writer.writerow(['mean', '', '', *(repr(report['mean'][m]) for m in metrics),
                         f'{report["num_images"]} images, {report["protocol"]} protocol'])
        for p in report['skipped']:
            writer.writerow(['skipped', p['path'], '', *([''] * len(metrics)), p['reason']])
