"""The decision core stays pure: standard library and ``cds_service.core`` imports only, and no
clock reads."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "cds_service" / "core"
MODULES = sorted(CORE.glob("*.py"))
CLOCK_CALLS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("time", "time"),
}


def imported_modules(tree: ast.AST) -> list[str]:
    """Top-level names of every module a source tree imports (relative imports as ``.``)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("." if node.level else node.module or "")
    return names


def test_core_modules_are_found() -> None:
    """The architecture checks see the core's modules."""
    assert {"decide.py", "knowledge.py", "facts.py", "recommendations.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_core_imports_only_stdlib_and_itself(module: Path) -> None:
    """A core module imports nothing outside the standard library and ``cds_service.core``."""
    tree = ast.parse(module.read_text("utf-8"))
    for name in imported_modules(tree):
        top = name.split(".")[0]
        allowed = name == "." or name.startswith("cds_service.core") or top in sys.stdlib_module_names
        assert allowed, f"{module.name} imports {name}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_core_never_reads_the_clock(module: Path) -> None:
    """No core module calls date.today(), datetime.now() or time.time(): ``today`` is a parameter."""
    tree = ast.parse(module.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name):
                assert (owner.id, node.func.attr) not in CLOCK_CALLS, f"{module.name} reads the clock"
