"""Issue 9 section 6: the layers point one way, and no module imports itself in a circle.

Read from the source (every import statement, function-level and ``TYPE_CHECKING`` ones too):
``devices`` imports none of the layers above it; ``telemetry`` and ``fieldservice`` import
nothing of ``fieldgate`` (the command line that wires them) and ``telemetry`` nothing of
``gateway``; and the module graph has no cycle. A submodule importing from its own parent
package is not an edge (the parent is always initialised first).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("devices", "gateway", "telemetry", "fieldservice", "simulators", "fieldgate")
#: importer prefix -> prefixes it must not import
FORBIDDEN = {
    "devices": ("gateway", "telemetry", "fieldservice", "simulators", "fieldgate"),
    "gateway": ("telemetry", "fieldservice", "fieldgate"),
    "telemetry": ("gateway", "fieldservice", "fieldgate", "simulators"),
    "fieldservice": ("gateway", "fieldgate", "simulators"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str | None] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [_resolve(f"{node.module}.{a.name}") or _resolve(node.module)
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [_resolve(a.name) for a in node.names]
            for target in targets:
                if target and target != module and not module.startswith(target + "."):
                    edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
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
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_packages_are_all_read() -> None:
    assert {"devices.session", "telemetry.dburl", "gateway.tcp",
            "fieldservice.api.app"} <= set(MODULES)


def test_imports_point_downwards() -> None:
    upward = sorted((m, t) for m, targets in _graph().items() for t in targets
                    for low, banned in FORBIDDEN.items()
                    if m.split(".")[0] == low and t.split(".")[0] in banned)
    assert upward == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_checker_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
