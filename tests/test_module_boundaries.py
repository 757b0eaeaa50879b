"""restorelab's modules import without cycles, and every one of them imports on its own.

The import graph is read from the source (every ``import`` statement, also those inside
functions, since a deferred import is still a dependency): no package of ``restorelab`` may
depend on another that depends back on it, and no module may reach itself through its
imports. A module importing its own parent package (``from restorelab.models import ...``
inside ``restorelab/models/...``) is not counted: the package is its namespace.
"""
import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = 'restorelab'


def _modules():
    """``{dotted name: path}`` of every module of the package."""
    mods = {}
    for path in sorted((REPO / PACKAGE).rglob('*.py')):
        parts = list(path.relative_to(REPO).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        mods['.'.join(parts)] = path
    return mods


def _imports(name, path, mods):
    """``[(imported module, line)]`` for the package's modules that ``name`` imports."""
    is_package = path.name == '__init__.py'
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split('.') if is_package else name.split('.')[:-1]
                base = base[:len(base) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            # `from pkg import sub` imports the module pkg.sub; `from mod import func` mod.
            targets = [f'{module}.{a.name}' if f'{module}.{a.name}' in mods else module
                       for a in node.names]
        else:
            continue
        for target in targets:
            if target in mods and target != name and not name.startswith(target + '.'):
                found.append((target, node.lineno))
    return found


def _graph():
    mods = _modules()
    return mods, {name: _imports(name, path, mods) for name, path in mods.items()}


def _cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _package_of(module):
    return '.'.join(module.split('.')[:2])


def _explain(component, graph, mods, key=lambda m: m):
    """The import lines that tie ``component`` together, for the failure message."""
    inside = set(component)
    lines = []
    for name, targets in sorted(graph.items()):
        for target, lineno in targets:
            if key(name) in inside and key(target) in inside and key(name) != key(target):
                line = f'  {mods[name].relative_to(REPO)}:{lineno} imports {target}'
                if line not in lines:
                    lines.append(line)
    return '\n'.join(lines)


def test_no_import_cycle_between_packages():
    mods, graph = _graph()
    edges = defaultdict(set)
    for name, targets in graph.items():
        for target, _ in targets:
            if _package_of(name) != _package_of(target):
                edges[_package_of(name)].add(_package_of(target))
    cycles = _cycles(edges)
    assert not cycles, '\n'.join(f'packages {c} import each other:\n'
                                 + _explain(c, graph, mods, _package_of) for c in cycles)


def test_no_import_cycle_between_modules():
    mods, graph = _graph()
    cycles = _cycles({name: {t for t, _ in targets} for name, targets in graph.items()})
    assert not cycles, '\n'.join(f'modules {c} import each other:\n' + _explain(c, graph, mods)
                                 for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert _cycles({'a': {'b'}, 'b': set()}) == []


def test_every_module_imports_in_a_fresh_interpreter():
    """All modules import, one after the other, in an interpreter that has imported nothing of
    restorelab before (a cycle that breaks at import time fails here with its traceback)."""
    code = ('import importlib, sys, traceback\n'
            'failed = 0\n'
            'for name in sys.argv[1:]:\n'
            '    try:\n'
            '        importlib.import_module(name)\n'
            '    except Exception:\n'
            '        failed += 1\n'
            '        print(f"--- {name}"); traceback.print_exc(file=sys.stdout)\n'
            'sys.exit(1 if failed else 0)\n')
    result = subprocess.run([sys.executable, '-c', code, *sorted(_modules())], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_error_classes_are_defined_in_one_module():
    """User-facing errors live in restorelab/utils/errors.py, so an ``except`` on one catches
    it wherever it is raised (a second class of the same name would not be caught)."""
    home = REPO / PACKAGE / 'utils' / 'errors.py'
    elsewhere = []
    for name, path in _modules().items():
        if path == home:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.ClassDef) and node.name.endswith('Error')
                    and not node.name.startswith('_')):  # private: control flow, never shown
                elsewhere.append(f'{path.relative_to(REPO)}:{node.lineno} class {node.name}')
    assert not elsewhere, 'error classes outside restorelab/utils/errors.py:\n' + '\n'.join(
        elsewhere)
    from restorelab.apis import CheckpointMismatchError
    from restorelab.utils import errors
    assert CheckpointMismatchError is errors.CheckpointMismatchError
