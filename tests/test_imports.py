"""The import graph keeps the layers apart: each package imports only those below it, a panel imports no other
panel and not the store, no module imports itself back through others (imports inside functions counted), and
the recording side of the installed package loads no part of the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the project's packages, lowest first: a module may import its own layer and those before it. The recorder
#: (``epochscope`` itself, ``epochscope.record``, ``epochscope.callbacks``) is the bottom, the app's entry points
#: (``epochscope.app``, ``python -m epochscope``) the top
LAYERS = (("epochscope", "epochscope.record", "epochscope.callbacks"), ("layout_engine",), ("models",), ("derived",),
          ("analysis",), ("frames",), ("dashboard",), ("epochscope.app", "epochscope.__main__"))
PACKAGES = ("epochscope", "layout_engine", "models", "derived", "analysis", "frames", "dashboard")
PANELS = "dashboard.panels"


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest package prefix naming it."""
    best, found = -1, 0
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), level
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, anywhere in it (module level or inside functions): ``from p import
    x`` is module ``p.x`` when there is one, else ``p``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def test_each_package_imports_only_its_own_and_those_below(graph: dict[str, set[str]]) -> None:
    upward = [f"{m} imports {i}" for m, targets in graph.items() for i in targets if layer_of(i) > layer_of(m)]
    assert upward == []
    assert layer_of("epochscope.record.recorder") < layer_of("models.store") < layer_of("epochscope.app.cli")
    assert not any(t.split(".")[0] != "layout_engine" for m, ts in graph.items() if m.startswith("layout_engine.")
                   for t in ts), "the layout engine is pure arrays: it imports no other project package"


def test_a_panel_imports_no_other_panel_nor_the_store_nor_the_layout_stage(graph: dict[str, set[str]]) -> None:
    found = [f"{m} imports {i}" for m, targets in graph.items() if m.startswith(PANELS + ".") for i in targets
             if (i.startswith(PANELS + ".") and i != m) or i == "models.store" or i.split(".")[0] == "frames"]
    assert found == []


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    # Tarjan's strongly connected components over the module graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checks_see_what_they_forbid(tmp_path: Path) -> None:
    """The parser finds imports inside functions and names submodules, so the rules above can fail."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from dashboard.panels import map_panel\n    import models.store\n"
                      "from frames import index\n")
    modules = project_modules()
    assert imports_of(source, modules) == {"dashboard.panels.map_panel", "models.store", "frames.index"}


def test_the_recorder_loads_numpy_and_torch_but_nothing_of_the_app() -> None:
    """What a training script imports (``from epochscope import Recorder``) pulls in no Dash, no store, no layout
    engine and no top-level package of the app (a user's own ``models`` stays theirs); a callback adds only its
    framework (checked by the graph above)."""
    code = ("import sys, epochscope; epochscope.Recorder; import epochscope.record.logdir; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'dash', 'plotly', 'diskcache', 'scipy', "
            "'sklearn', 'numba', 'umap', 'models', 'dashboard', 'layout_engine', 'frames', 'analysis', 'derived'}"
            " or m.startswith('epochscope.app')))")
    result = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
