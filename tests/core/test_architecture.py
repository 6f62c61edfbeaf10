"""The package tree shows the design: each stage imports only from stages to its left.

The flow (DESIGN.md): instruments -> ingest -> store -> analysis -> (bundle) -> report.
``stats`` (statistics), ``disclosure`` (suppression and audit), ``bundle`` (the results
bundle's file format, written by the analysis and read by the reports), ``errors``, ``config``,
``resources`` and ``background`` (a step in a forked worker) are libraries any stage may use;
they import no stage. ``synth`` makes
files that enter through ingest, so it may use the instruments only. ``cli`` is the top: it
wires the stages together. Every import counts, including those inside functions, and no two
modules may import each other, directly or round a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TOOLKIT = Path(__file__).resolve().parents[2] / "toolkit"
LIBRARIES = ("toolkit", "errors", "config", "resources", "background", "stats", "disclosure",
             "bundle")  # fmt: skip
STAGES = ("instruments", "ingest", "store", "analysis", "report")
#: Which stages each side package may import (besides the libraries).
SIDE = {"synth": ("instruments",), "cli": (*STAGES, "synth")}


def module_name(path: Path) -> str:
    parts = path.relative_to(TOOLKIT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in TOOLKIT.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Toolkit modules imported anywhere in ``name`` (``from pkg import sub`` -> ``pkg.sub``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("toolkit")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("toolkit"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found & set(MODULES)


def area(name: str) -> str:
    """The stage, library or side package a module belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "toolkit"


def allowed(source: str, target: str) -> bool:
    here, there = area(source), area(target)
    if here == there or there in LIBRARIES:
        return here != "toolkit" or there == "toolkit"
    if here in LIBRARIES:
        return False
    if here in SIDE:
        return there in SIDE[here]
    if there in SIDE:
        return False
    return STAGES.index(there) < STAGES.index(here)


def test_the_tree_has_one_package_per_stage() -> None:
    top = {p.name for p in TOOLKIT.iterdir() if p.name != "__pycache__"}
    for stage in ("instruments", "ingest", "store", "analysis", "disclosure", "report", "stats",
                  "synth", "cli"):  # fmt: skip
        assert (TOOLKIT / stage / "__init__.py").is_file(), stage
    loose = {p for p in top if p.endswith(".py")}
    assert loose == {"__init__.py", "background.py", "bundle.py", "config.py", "errors.py",
                     "resources.py"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_imports_only_from_its_left(name: str) -> None:
    wrong = sorted(t for t in imports_of(name) if not allowed(name, t))
    assert not wrong, f"{name} ({area(name)}) imports from the right or a side package: {wrong}"


def test_no_import_circles() -> None:
    graph = {name: imports_of(name) - {name} for name in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_checker_catches_a_reach_to_the_right() -> None:
    assert not allowed("toolkit.ingest.pipeline", "toolkit.store.database")
    assert not allowed("toolkit.stats.sweep", "toolkit.analysis.plan")
    assert not allowed("toolkit.analysis.runner", "toolkit.report.sections")
    assert allowed("toolkit.report.runner", "toolkit.analysis.runner")
    assert allowed("toolkit.store.database", "toolkit.ingest.batch")
