#!/usr/bin/env python3
"""The Python package's import rules, checked over its source with ``ast`` (nothing is imported).

The package is a stack imported one way (docs/architecture.md, "The Python package"): each
module of python/datashard/ has a layer below, and a module may import at run time only
modules of its own layer or lower ones. Fails (exit 1, naming the modules) on:

- an upward import: a module importing one of a higher layer at run time (at the top or
  inside a function; imports under ``if TYPE_CHECKING:`` are for typing only and allowed);
- a runtime import cycle (also within a layer);
- an import of another module's underscore name (``from .table import _threads``, or
  ``module._name`` on an imported package module); importing a private *module*
  (``from . import _core``, ``from ._convert import SchemaView``) is fine;
- a module missing from ``LAYERS`` (a new module says where it belongs).

    python3 scripts/check_imports.py            check
    python3 scripts/check_imports.py --graph    also print the import graph, layer by layer
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "datashard"
ROOT = Path(__file__).resolve().parent.parent / "python" / PACKAGE

# Layer of each module (``__init__`` is the package itself; ``_core`` the compiled engine).
LAYERS: dict[str, int] = {
    # 0 leaf helpers: import nothing of the package but errors and the engine
    "_core": 0, "errors": 0, "_when": 0, "_storage": 0, "_html": 0, "progress": 0,
    "_original_internals": 0, "_lazy": 0,
    # 1 value types
    "schema": 1, "partitioning": 1, "snapshot": 1, "filters": 1, "expressions": 1, "data_structures": 1,
    # 2 input conversion and the checks readers and writers share
    "_records": 2, "_convert": 2,
    # 3 operations over the engine's table handle and a SchemaView (never the Python Table),
    #   and the original package's names, which Transaction and Table mix in
    "scan": 3, "transaction": 3, "distributed": 3, "_distributed": 3, "compat": 3,
    # 4 the Table facade, its mixins, and the original package's module aliases
    "table": 4, "history": 4, "maintenance": 4, "schema_update": 4, "engines": 4, "iceberg": 4,
    "garbage_collector": 4, "metadata_manager": 4, "storage_backend": 4, "disk_utils": 4, "integrity": 4,
    # 5 the package's public surface, and the integrations and tools built on it
    "__init__": 5, "torch": 5, "ray": 5, "cli": 5, "demo": 5,
}

LAYER_NAMES = {
    0: "leaf helpers",
    1: "value types",
    2: "input conversion",
    3: "operations",
    4: "the Table facade",
    5: "public surface and integrations",
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class Imports(ast.NodeVisitor):
    """The package modules one module imports: ``(target, names, line, typing_only)``, and the
    ``module._name`` attribute uses on imported package modules."""

    def __init__(self, module: str, modules: set[str]) -> None:
        self.module = module
        self.modules = modules
        self.edges: list[tuple[str, list[str], int, bool]] = []
        self.private_uses: list[tuple[str, str, int]] = []
        self._typing = 0
        self._aliases: dict[str, str] = {}  # local name -> package module

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._typing += 1
            for child in node.body:
                self.visit(child)
            self._typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _target(self, dotted: str) -> str | None:
        """``datashard.x.y`` / ``x`` (relative) -> the package module ``x``; the package itself -> ``__init__``."""
        parts = dotted.split(".") if dotted else []
        if not parts:
            return "__init__"
        return parts[0] if parts[0] in self.modules else None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] != PACKAGE:
                continue
            target = self._target(".".join(parts[1:]))
            if target is not None:
                self.edges.append((target, [], node.lineno, self._typing > 0))
                if alias.asname and target != "__init__":
                    self._aliases[alias.asname] = target

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            parts = (node.module or "").split(".")
            if parts[0] != PACKAGE:
                return
            base = ".".join(parts[1:])
        elif node.level == 1:
            base = node.module or ""
        else:
            return
        names = [a.name for a in node.names]
        typing_only = self._typing > 0
        if base:
            target = self._target(base)
            if target is not None:
                self.edges.append((target, names, node.lineno, typing_only))
            return
        # ``from . import x, y``: submodules, or names of the package itself
        for alias in node.names:
            if alias.name in self.modules:
                self.edges.append((alias.name, [], node.lineno, typing_only))
                self._aliases[alias.asname or alias.name] = alias.name
            else:
                self.edges.append(("__init__", [alias.name], node.lineno, typing_only))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self._aliases:
            name = node.attr
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                self.private_uses.append((self._aliases[node.value.id], name, node.lineno))
        self.generic_visit(node)


def scan_package(root: Path) -> tuple[dict[str, list[tuple[str, list[str], int, bool]]], list[str]]:
    modules = {p.stem for p in root.glob("*.py")} | {"_core"}
    edges: dict[str, list[tuple[str, list[str], int, bool]]] = {}
    problems: list[str] = []
    for path in sorted(root.glob("*.py")):
        module = path.stem
        visitor = Imports(module, modules)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        edges[module] = [e for e in visitor.edges if e[0] != module]
        for target, name, line in visitor.private_uses:
            problems.append(f"private name: {module}.py:{line} uses {target}.{name}")
        for target, names, line, _ in visitor.edges:
            private = [n for n in names if n.startswith("_") and not (n.startswith("__") and n.endswith("__"))]
            if private and target != module:
                problems.append(f"private name: {module}.py:{line} imports {', '.join(private)} from {target}")
    return edges, problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check(root: Path = ROOT, show_graph: bool = False) -> list[str]:
    edges, problems = scan_package(root)
    for module in sorted(edges):
        if module not in LAYERS:
            problems.append(f"unknown module: {module}.py has no layer; add it to LAYERS in scripts/check_imports.py")
    runtime: dict[str, set[str]] = {m: set() for m in edges}
    for module, imports in sorted(edges.items()):
        for target, _, line, typing_only in imports:
            if typing_only:
                continue
            runtime[module].add(target)
            if module in LAYERS and target in LAYERS and LAYERS[target] > LAYERS[module]:
                problems.append(
                    f"upward import: {module}.py:{line} (layer {LAYERS[module]}, {LAYER_NAMES[LAYERS[module]]}) "
                    f"imports {target} (layer {LAYERS[target]}, {LAYER_NAMES[LAYERS[target]]})"
                )
    for component in cycles(runtime):
        problems.append(f"import cycle at run time: {' <-> '.join(component)}")
    if show_graph:
        print_graph(edges)
    return problems


def print_graph(edges: dict[str, list[tuple[str, list[str], int, bool]]]) -> None:
    for layer in sorted(LAYER_NAMES):
        print(f"layer {layer}: {LAYER_NAMES[layer]}")
        for module in sorted(m for m in edges if LAYERS.get(m) == layer):
            runtime = sorted({t for t, _, _, typing_only in edges[module] if not typing_only})
            typing = sorted({t for t, _, _, typing_only in edges[module] if typing_only} - set(runtime))
            line = f"  {module:20} -> {', '.join(runtime) if runtime else '(nothing of the package)'}"
            if typing:
                line += f"   [typing only: {', '.join(typing)}]"
            print(line)
    unknown = sorted(m for m in edges if m not in LAYERS)
    if unknown:
        print(f"no layer: {', '.join(unknown)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", action="store_true", help="print the import graph, layer by layer")
    args = parser.parse_args()
    problems = check(show_graph=args.graph)
    for p in problems:
        print(f"check_imports: {p}", file=sys.stderr)
    if problems:
        print(f"check_imports: {len(problems)} problem(s) in python/{PACKAGE}/", file=sys.stderr)
        return 1
    print(f"check_imports: python/{PACKAGE}/ imports one way, no cycles, no private names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
