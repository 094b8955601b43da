"""The layers of src/observatoire, checked on the imports themselves (every ``import`` statement,
including those inside functions): no import cycle, no import from a lower layer to a higher
one, and an engine that imports neither the build, the CLI, Jupyter nor Voilà."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from observatoire import paths

PACKAGE = paths.PACKAGE
#: Layer of each top-level part of the package; a module may import only from its own layer's
#: part or from lower layers. The applications (build, national, campus, connectors) are
#: independent of each other.
LAYERS = {
    "paths": 0, "errors": 0, "text": 0, "files": 0, "fingerprints": 0,
    "engine": 1,
    "report": 2, "kernels": 2,
    "build": 3, "national": 3, "campus": 3, "connectors": 3,
    "cli": 4, "__main__": 5,
}
#: Libraries the engine must not import (it is usable without the book).
NOT_IN_ENGINE = ("jupyter_book", "papermill", "voila", "nbclient", "nbformat", "sphinx", "ipywidgets", "myst_nb",
                 "jupyter_client", "jupyter_cache", "IPython", "matplotlib", "seaborn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    """module → the modules it imports (absolute names), for every module of the package."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = found
    return graph


def part(module: str) -> str | None:
    pieces = module.split(".")
    if pieces[0] != "observatoire" or len(pieces) < 2:
        return None
    return pieces[1]


def internal_graph() -> dict[str, set[str]]:
    graph = imports()
    known = set(graph)
    return {m: {i for i in found if i in known and i != m} for m, found in graph.items()}


def test_no_import_cycle():
    graph = internal_graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_every_part_of_the_package_has_a_layer():
    parts = {part(m) for m in internal_graph()} - {None}
    assert parts <= set(LAYERS), parts - set(LAYERS)


def test_no_import_goes_up_or_across_applications():
    wrong = []
    for module, found in internal_graph().items():
        mine = part(module)
        if mine is None:
            continue
        for target in found:
            theirs = part(target)
            if theirs is None or theirs == mine:
                continue
            if LAYERS[theirs] > LAYERS[mine] or (LAYERS[theirs] == LAYERS[mine] == 3):
                wrong.append(f"{module} → {target}")
    assert wrong == []


def test_the_engine_imports_no_book_cli_jupyter_or_voila():
    wrong = []
    for module, found in imports().items():
        if part(module) != "engine":
            continue
        for target in found:
            top = target.split(".")[0]
            if top in NOT_IN_ENGINE or part(target) in {"build", "cli", "campus", "national", "report", "connectors"}:
                wrong.append(f"{module} → {target}")
    assert wrong == []


def test_importing_the_engine_loads_none_of_the_book_machinery():
    script = ("import sys, observatoire.engine.pipeline, observatoire.engine.uncertainty, observatoire.engine.validate\n"
              f"print(sorted(m for m in {NOT_IN_ENGINE!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
