"""The package layout keeps its shape: layered imports, no cycles, every module documented, ARCHITECTURE.md true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "monitor"
# Each unit (a top-level module or package of monitor/) may import only units of a lower layer, or itself.
LAYERS = [
    {"__init__", "models", "errors", "clock"},
    {"patterns"},
    {"fetch", "extract", "store", "config", "diff", "events", "review"},
    {"report"},
    {"check", "notify", "backfill", "verify", "watchlist"},
    {"daemon", "web"},
    {"demo"},
    {"cli"},
    {"__main__"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
STAGES = ("fetch", "extract", "store", "config", "daemon", "notify", "report", "web", "cli")


def module_name(path: Path) -> str:
    """monitor/fetch/http.py -> monitor.fetch.http; monitor/fetch/__init__.py -> monitor.fetch."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The top-level unit of a dotted module name: monitor.fetch.http -> fetch; monitor -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported(module: str) -> set[str]:
    """Every monitor module `module` imports, at any depth of its code (lazy imports count too).

    Importing monitor.a.b also runs monitor.a's __init__, unless the importer lives inside monitor.a.
    """
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{module}: relative import"
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES}
    found = set()
    for name in names:
        if not name.startswith("monitor"):
            continue
        parts = name.split(".")
        for depth in range(2, len(parts) + 1):
            parent = ".".join(parts[:depth])
            if parent in MODULES and parent != module and not module.startswith(parent + "."):
                found.add(parent)
    return found


GRAPH = {module: imported(module) for module in MODULES}


def test_no_module_imports_upward() -> None:
    assert set(RANK) >= {unit_of(m) for m in MODULES}, "every unit of monitor/ has a layer in this test"
    upward = [f"{m} imports {dep}" for m, deps in GRAPH.items() for dep in deps
              if unit_of(dep) != unit_of(m) and RANK[unit_of(dep)] >= RANK[unit_of(m)]]
    assert upward == []


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(GRAPH[module]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_owns(module: str) -> None:
    docstring = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert docstring and len(docstring) > 20, f"{module} needs a docstring"


def test_stage_packages_reexport_only_what_exists() -> None:
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        assert init.is_file(), f"monitor/{stage}/ is a package"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        exported = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                         and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)), [])
        module = __import__(f"monitor.{stage}", fromlist=["*"])
        for name in exported:
            assert getattr(module, name, None) is not None, f"monitor.{stage}.{name}"


def test_architecture_md_is_true() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for stage in STAGES:
        assert f"monitor/{stage}/" in text, f"ARCHITECTURE.md maps monitor/{stage}/"
    for path in sorted(set(re.findall(r"`(monitor/[\w/]+\.py)`", text))):
        assert (ROOT / path).is_file(), f"ARCHITECTURE.md names {path}, which does not exist"
    # a package's bullet ("- `monitor/fetch/`: ... `http.py` ...") names its modules; top-level ones are bullets too
    named = {f"monitor/{package}{name}" for bullet in re.split(r"\n(?=- )", text)
             for package in re.findall(r"^- `(?:monitor/)?((?:\w+/)?)", bullet)
             for name in re.findall(r"`(\w+\.py)`", bullet)}
    modules = {str(p.relative_to(ROOT)) for p in MODULES.values() if p.name != "__init__.py"}
    assert sorted(modules - named) == [], "ARCHITECTURE.md names every module in its package's bullet"


def test_readme_names_only_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted(set(re.findall(r"`(monitor/[\w/]+\.py)`", text))):
        assert (ROOT / path).is_file(), f"README.md names {path}, which does not exist"
