"""The import rules of docs/architecture.md, checked on the source: no import cycle among smartopt's
modules, and the layers import only downwards (base, network, the domains, then the application).

Every import statement counts, wherever it stands: at the top, inside a function (a lazy import is
still a cycle) and under ``if TYPE_CHECKING:`` (it does not run, but a domain that names an
application type for its annotations still depends on the application layer).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "smartopt"

DOMAINS = ("signals", "energy", "dispatch")
"""The three domains: none imports another; each may import the network and the base."""
BASE = ("_validation", "_files", "_serialise", "_progress", "_threads", "_core")
"""Shared private modules: they import no domain, the network or the application."""


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name (a package by its ``__init__``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """The package's modules that ``path`` (module ``name``) imports: ``from pkg import sub`` names
    the submodule ``pkg.sub``; an import of a name inside a module names that module."""

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*parent, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            found = owner(target)
            if found is not None and found != name:
                yield found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    names = module_names(root, package)
    return {name: set(imports(path, name, set(names))) for name, path in names.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (module names, first repeated at the end) per strongly connected component of
    more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A cycle through the component's first module, by breadth-first search inside it."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of size > 1 always has one


def layer(module: str) -> str:
    """``"base"``, ``"network"``, a domain's name, ``"app"``, ``"datasets"`` or ``"root"``
    (the package itself and ``__main__``)."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "root"
    top = parts[1]
    if top in BASE:
        return "base"
    if top in ("network", *DOMAINS, "app", "datasets"):
        return top
    raise AssertionError(f"{module}: in no layer of docs/architecture.md; add it there and here")


def may_import(importer: str, imported: str) -> bool:
    """The rules of docs/architecture.md: base <- network <- each domain <- app; datasets build
    districts, so they may import the domains and ``app.district`` but nothing else of the app."""
    a, b = layer(importer), layer(imported)
    if a == b or a in ("app", "root"):
        return True
    if a == "datasets":
        return b in ("base", "network", *DOMAINS) or imported == importer.split(".")[0] + ".app.district"
    if a in DOMAINS:
        return b in ("base", "network")
    if a == "network":
        return b == "base"
    return False  # base imports only base


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports against the layer rules, and modules outside ``app``/``datasets`` that import more
    than one domain."""
    found = [f"{a} imports {b}" for a in sorted(graph) for b in sorted(graph[a]) if not may_import(a, b)]
    for a in sorted(graph):
        if layer(a) not in ("app", "datasets"):
            used = {layer(b) for b in graph[a]} & set(DOMAINS)
            if len(used) > 1:
                found.append(f"{a} imports more than one domain: {sorted(used)}")
    return found


GRAPH = import_graph(ROOT, "smartopt")


def test_the_scan_sees_every_layer() -> None:
    assert {layer(m) for m in GRAPH} == {"root", "base", "network", *DOMAINS, "app", "datasets"}
    assert "smartopt.network.road" in GRAPH["smartopt.dispatch.space"]  # a top-level import
    assert "smartopt.app.report" in GRAPH["smartopt.app.pipeline"]  # an import inside a function


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_layers_import_only_downwards() -> None:
    assert violations(GRAPH) == []


def test_the_architecture_page_names_every_layer_the_test_checks() -> None:
    doc = (ROOT.parents[1] / "docs" / "architecture.md").read_text()
    table = doc.split("## The layers", 1)[1].split("\n## ", 1)[0]
    for module in (*BASE, "network", *DOMAINS, "app", "datasets"):
        assert f"{module}`" in table, module


def test_the_scan_finds_planted_cycles_and_violations(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    files = {
        "__init__.py": "",
        "_validation.py": "",
        "network/__init__.py": "from pkg.network.road import Road\n",
        "network/road.py": "from pkg import _validation\n\nclass Road: ...\n",
        "signals/__init__.py": "",
        "signals/timing.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg.app.district import D\n",
        "energy/__init__.py": "",
        "energy/grid.py": "def f():\n    from . import flow\n",
        "energy/flow.py": "from pkg.energy.grid import f\nfrom pkg.signals import timing\n",
        "app/__init__.py": "",
        "app/district.py": "from pkg.network import Road\n",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.network"] == {"pkg.network.road"}
    assert graph["pkg.network.road"] == {"pkg._validation"}
    assert cycles(graph) == [["pkg.energy.flow", "pkg.energy.grid", "pkg.energy.flow"]]
    assert violations(graph) == [
        "pkg.energy.flow imports pkg.signals.timing",
        "pkg.signals.timing imports pkg.app.district",
        "pkg.energy.flow imports more than one domain: ['energy', 'signals']",
    ]
