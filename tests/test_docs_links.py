"""Every relative link in the repository's Markdown files reaches a file, and every ``#anchor``
a heading of that file (GitHub's heading ids)."""
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r'!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
FENCE = re.compile(r'^(```|~~~).*?^\1', re.S | re.M)
CODE_SPAN = re.compile(r'(`+)(?:.(?!\1))*?.?\1', re.S)
HEADING = re.compile(r'^#{1,6}\s+(.*?)\s*#*\s*$', re.M)
HTML_ID = re.compile(r'<a\s+(?:name|id)="([^"]+)"')


def _markdown_files():
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard',
                          '*.md'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return sorted(REPO / p for p in out.split() if (REPO / p).is_file())


def _prose(text):
    """The text without fenced code blocks and code spans (links there are examples)."""
    return CODE_SPAN.sub('', FENCE.sub('', text))


def slug(heading):
    """GitHub's id for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link keeps its text
    text = re.sub(r'<[^>]+>', '', text).replace('`', '').lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    text = FENCE.sub('', path.read_text(encoding='utf-8'))
    seen, ids = {}, set(HTML_ID.findall(text))
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        ids.add(base if count == 0 else f'{base}-{count}')
        seen[base] = count + 1
    return ids


def _broken(path):
    problems = []
    for target in LINK.findall(_prose(path.read_text(encoding='utf-8'))):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I):  # http:, https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition('#')
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            problems.append(f'{target}: no such file')
        elif anchor and dest.suffix == '.md' and unquote(anchor) not in anchors(dest):
            problems.append(f'{target}: no heading #{anchor} in {dest.name}')
    return problems


def test_slugs_follow_github():
    assert slug('Training and testing') == 'training-and-testing'
    assert slug('DRSformer (CVPR 2023) — `projects/drsformer/`') == 'drsformer-cvpr-2023--projectsdrsformer'
    assert slug('Measured against the published tables') == 'measured-against-the-published-tables'


def test_the_checker_finds_a_broken_link_and_anchor(tmp_path):
    page = tmp_path / 'a.md'
    (tmp_path / 'b.md').write_text('# Real heading\n')
    page.write_text('[ok](b.md#real-heading) [gone](c.md) [bad](b.md#nope) `[code](x.md)`\n'
                    '```\n[fenced](y.md)\n```\n[self](#nowhere)\n')
    assert _broken(page) == ['c.md: no such file', 'b.md#nope: no heading #nope in b.md',
                             '#nowhere: no heading #nowhere in a.md']


@pytest.mark.parametrize('path', _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(path):
    problems = _broken(path)
    assert not problems, f'{path.relative_to(REPO)}:\n  ' + '\n  '.join(problems)


def test_readme_is_a_front_door():
    """README.md stays short (the rest lives in docs/) and its first screen says how to get a
    python that has restorelab."""
    text = (REPO / 'README.md').read_text(encoding='utf-8')
    assert len(text.encode('utf-8')) <= 12 * 1024
    first_screen = '\n'.join(text.splitlines()[:25])
    assert 'make install' in first_screen and '. .venv/bin/activate' in first_screen
