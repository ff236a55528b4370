"""The house: imports point down only, in every form Python has.

    tui  ->  automation, reports  ->  integrations | store  ->  playbooks

docs/design.md ("Layering"): imports point down only; `integrations` and `store` stand side
by side and neither imports the other. `automation` and `reports` share a floor too, so an
import between them would not point down either: neither imports the other. Only `tui`
imports `textual`.

The checker parses every module with `ast` rather than importing it, so an import inside a
function, a method or an `if TYPE_CHECKING:` block counts exactly like one at the top: a
lazy import is still a dependency, it is only paid for later. Forms seen: `import a.b`,
`from a import b`, relative imports, and `importlib.import_module("a.b")` / `__import__`
with a literal string (a name computed at run time cannot be checked by reading).

A second test keeps the database layer out of the import of every screen and widget: they
get typed data from workers, and SQLAlchemy/SQLModel must not load on the paint path.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Top floor first. Packages on one floor stand side by side: neither imports the other.
FLOORS: tuple[tuple[str, ...], ...] = (("tui",), ("automation", "reports"), ("integrations", "store"),
                                       ("playbooks",))
# A third-party package only one of the house's packages may import.
ONLY: dict[str, str] = {"textual": "tui"}


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the root the house was read from
    line: int
    importer: str  # the module holding the import
    imported: str  # the module it names
    where: str  # "at module level" or "inside `name`"
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported} {self.where}, but {self.rule}."


def _picture(floors: tuple[tuple[str, ...], ...]) -> str:
    """The house as docs/design.md draws it, with `|` between every pair that stands side by side."""
    return "  ->  ".join(" | ".join(floor) for floor in floors)


def _modules(root: Path, floors: tuple[tuple[str, ...], ...]) -> dict[str, Path]:
    """Every module of the floors' packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in (p for floor in floors for p in floor):
        folder = root.joinpath(*package.split("."))
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _package_of(module: str, packages: list[str]) -> str | None:
    for package in sorted(packages, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return None


class _Imports(ast.NodeVisitor):
    """(line, imported module, where) for each import in one module, nested ones included."""

    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        self.scope: list[str] = []
        self.found: list[tuple[int, str, str]] = []

    def _where(self) -> str:
        return f"inside `{'.'.join(self.scope)}`" if self.scope else "at module level"

    def _add(self, node: ast.AST, name: str | None) -> None:
        found = (node.lineno, name, self._where())
        if name and found not in self.found:  # `from a import b, c` is one import of a
            self.found.append(found)

    def _relative(self, level: int, name: str | None, package: str | None = None) -> str | None:
        """`from ..x import y` in the module's package; None when it climbs out of the top."""
        base = (package if package is not None else self.package).split(".") if level else []
        if level > len(base):
            return None
        base = base[: len(base) - (level - 1)] if level else base
        return ".".join(base + ([name] if name else []))

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node, node.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._relative(node.level, node.module) if node.level else node.module
        if base is None:  # reported as written: it names no module of the house
            self._add(node, "." * node.level + (node.module or ""))
            return
        for alias in node.names:
            # `from pkg import sub` names the submodule when there is one, else pkg itself.
            submodule = f"{base}.{alias.name}" if base else alias.name
            self._add(node, submodule if submodule in self.known else base)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = first.value
                if target.startswith(".") and name == "import_module":
                    level = len(target) - len(target.lstrip("."))
                    anchor = node.args[1] if len(node.args) > 1 else None
                    package = anchor.value if isinstance(anchor, ast.Constant) and isinstance(anchor.value, str) \
                        else self.package
                    self._add(node, self._relative(level, target.lstrip(".") or None, package))
                else:
                    self._add(node, target)
        self.generic_visit(node)


def check_house(root: Path, floors: tuple[tuple[str, ...], ...] = FLOORS,
                only: dict[str, str] | None = None) -> list[Violation]:
    """Every import under `root` that does not point down the house `floors` (top floor first)."""
    only = ONLY if only is None else only
    packages = [p for floor in floors for p in floor]
    floor_of = {p: i for i, floor in enumerate(floors) for p in floor}
    modules = _modules(root, floors)
    picture = _picture(floors)
    violations: list[Violation] = []
    for module, path in modules.items():
        importer = _package_of(module, packages)
        visitor = _Imports(module, path.name == "__init__.py", set(modules))
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for line, imported, where in visitor.found:
            target = _package_of(imported, packages)
            rule = None
            if imported.startswith("."):
                rule = "a relative import may not climb above its top-level package"
            elif target is None:
                top = imported.split(".")[0]
                allowed = only.get(top)
                if allowed is not None and importer != allowed:
                    rule = f"only {allowed} imports {top}"
            elif target == importer or floor_of[target] > floor_of[importer]:
                continue
            elif floor_of[target] == floor_of[importer]:
                rule = (f"{importer} and {target} stand side by side on one floor of the house ({picture}) "
                        f"and neither may import the other")
            else:
                rule = f"imports point down only ({picture}) and {target} is above {importer}"
            if rule:
                violations.append(Violation(path.relative_to(root).as_posix(), line, module, imported, where, rule))
    return sorted(violations, key=lambda v: (v.path, v.line, v.imported))


FAKE_FLOORS = tuple(tuple(f"house.{p}" for p in floor) for floor in FLOORS)


def test_checker_reports_each_upward_or_sideways_import_of_the_fake_house():
    found = check_house(FIXTURES, FAKE_FLOORS, {"textual": "house.tui"})
    assert [(v.path, v.line, v.importer, v.imported, v.where) for v in found] == [
        ("house/automation/loop.py", 9, "house.automation.loop", "textual.app", "inside `Loop.notify`"),
        ("house/integrations/pager.py", 10, "house.integrations.pager", "house.automation.loop", "inside `page`"),
        ("house/playbooks/policy.py", 10, "house.playbooks.policy", "house.tui.app", "inside `describe`"),
        ("house/reports/handover.py", 2, "house.reports.handover", "house.automation.loop", "at module level"),
        ("house/store/ledger.py", 5, "house.store.ledger", "house.integrations.pager", "at module level"),
    ]
    # The lines the fixture marks are exactly the ones found (nothing legal is reported).
    marked = sorted((p.relative_to(FIXTURES).as_posix(), n) for p in (FIXTURES / "house").rglob("*.py")
                    for n, text in enumerate(p.read_text().splitlines(), 1) if "  # VIOLATION" in text)
    assert marked == [(v.path, v.line) for v in found]


def test_an_upward_import_inside_a_function_is_one_sentence_naming_file_line_import_and_rule():
    found = check_house(FIXTURES, FAKE_FLOORS, {"textual": "house.tui"})
    by_path = {v.path: str(v) for v in found}
    assert by_path["house/playbooks/policy.py"] == (
        "house/playbooks/policy.py:10: house.playbooks.policy imports house.tui.app inside `describe`, but imports "
        "point down only (house.tui  ->  house.automation | house.reports  ->  house.integrations | house.store  ->  "
        "house.playbooks) and house.tui is above house.playbooks.")
    assert by_path["house/store/ledger.py"] == (
        "house/store/ledger.py:5: house.store.ledger imports house.integrations.pager at module level, but "
        "house.store and house.integrations stand side by side on one floor of the house (house.tui  ->  "
        "house.automation | house.reports  ->  house.integrations | house.store  ->  house.playbooks) and neither "
        "may import the other.")
    assert by_path["house/automation/loop.py"].endswith(", but only house.tui imports textual.")
    for message in by_path.values():
        assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_relative_and_by_name_imports_resolve_against_the_importing_package():
    tree = ast.parse("from . import a\nfrom ..b import c\nimport importlib\n"
                     "def f():\n    importlib.import_module('.d', 'x.y')\n    __import__('e.f')\n")
    visitor = _Imports("x.y.m", False, {"x.y.a", "x.b.c"})
    visitor.visit(tree)
    assert visitor.found == [(1, "x.y.a", "at module level"), (2, "x.b.c", "at module level"),
                             (3, "importlib", "at module level"), (5, "x.y.d", "inside `f`"),
                             (6, "e.f", "inside `f`")]


def test_a_relative_import_climbing_out_of_the_house_is_reported(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "__init__.py").write_text("")
    (tmp_path / "store" / "ledger.py").write_text("def f():\n    from ..tui import app\n")
    assert [str(v) for v in check_house(tmp_path)] == [
        "store/ledger.py:2: store.ledger imports ..tui inside `f`, but a relative import may not climb above its "
        "top-level package."]


def test_every_import_of_the_application_points_down_the_house():
    found = check_house(REPO)
    assert not found, "\n".join(map(str, found))


SCREENS_AND_WIDGETS = sorted(
    ".".join(p.relative_to(REPO).with_suffix("").parts[: -1 if p.stem == "__init__" else None])
    for folder in ("tui/screens", "tui/widgets") for p in (REPO / folder).glob("*.py"))
DATABASE = ("sqlalchemy", "sqlmodel")


@pytest.mark.parametrize("module", SCREENS_AND_WIDGETS)
def test_screen_or_widget_import_loads_no_database_layer(module):
    code = (f"import json, sys\nimport {module}\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(DATABASE)!r})))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(result.stdout) == [], f"importing {module} loads {json.loads(result.stdout)}"
