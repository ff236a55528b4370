"""Issue 15, acceptance 2: integrations/ imports nothing from store/.

`import integrations.<any module>` must load neither SQLAlchemy nor SQLModel nor any store
module (the alert receiver is handed an intake from automation/; the sources return
playbooks values), and no module under integrations/ may even name the store in an import
statement, function-level imports included.
"""
from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import integrations

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(["integrations"] + [f"integrations.{m.name}"
                                     for m in pkgutil.walk_packages(integrations.__path__)])
FORBIDDEN = ("sqlalchemy", "sqlmodel", "store")


def heavy(loaded: list[str]) -> list[str]:
    """The loaded modules of the database layer and of the store."""
    return sorted(name for name in loaded if name.split(".")[0] in FORBIDDEN)


def test_every_integrations_module_imports_without_the_database_layer():
    # One fresh interpreter per module: what one import loaded must not hide another's.
    code = (
        "import importlib, json, sys\n"
        "name = sys.argv[1]\n"
        "importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded_by = {}
    for name in MODULES:
        result = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                                cwd=ROOT, check=False)
        assert result.returncode == 0, f"import {name} failed: {result.stderr[-2000:]}"
        loaded_by[name] = heavy(json.loads(result.stdout))
    assert {name: loaded for name, loaded in loaded_by.items() if loaded} == {}


def test_the_check_sees_a_store_import():
    # The same probe on a module known to load the store: it must report it.
    code = "import json, sys; import store.detection; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = heavy(json.loads(result.stdout))
    assert "store.detection" in loaded and "sqlmodel" in loaded


def imports_of(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import statement anywhere in the tree, inside functions too;
    a relative import is left out (integrations/ is a package of its own, it cannot reach store/)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend([(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{alias.name}")
                                                        for alias in node.names])
    return found


def store_imports(source: str) -> list[tuple[int, str]]:
    return [(line, name) for line, name in imports_of(ast.parse(source)) if name.split(".")[0] in FORBIDDEN]


@pytest.mark.parametrize("path", sorted((ROOT / "integrations").rglob("*.py")),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_no_integrations_module_names_the_store_in_an_import(path):
    assert store_imports(path.read_text(encoding="utf-8")) == []


def test_the_parse_finds_function_level_and_type_checking_imports():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from store.operations import IncidentStore\n"
        "def write(change):\n"
        "    import store.detection as detection\n"
        "    from store import errors\n"
        "    return detection, errors\n"
        "class Receiver:\n"
        "    def apply(self):\n"
        "        from sqlmodel import select\n"
        "        return select\n"
        "import storefront\n"  # a name that only starts like it is no store import
    )
    assert [line for line, _ in store_imports(source)] == [3, 3, 5, 6, 6, 10, 10]
