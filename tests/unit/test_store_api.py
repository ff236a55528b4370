"""Every write goes through IncidentStore's public API: no module outside store/operations.py
reaches into its underscored names (issue 15: one style of operation, no private reach-ins).

The check is by name, as the code names the store: a variable or parameter `store`, or an
attribute `.store` (self.store, ctx.store, app.store), followed by `._name`."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["store", "automation", "tui", "reports", "integrations"]
OWNER = Path("store/operations.py")  # IncidentStore itself


def _names_the_store(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "store") or (
        isinstance(node, ast.Attribute) and node.attr == "store")


def private_store_reaches(source: str) -> list[tuple[int, str]]:
    """(line, text) of each `<store>._name` access (dunders are Python's, not the store's)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and _names_the_store(node.value)):
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_check_sees_a_reach_in():
    # A fixture module with each shape the check must catch, and the public calls it must pass.
    source = (
        "def mark(store, incident_id):\n"
        "    with store.db.write() as session:\n"
        "        incident = store._load(session, incident_id)\n"
        "        store.load_for_change(session, incident_id, 'be marked')\n"
        "class Screen:\n"
        "    def act(self, ctx):\n"
        "        self.store._refuse_if_closed(None, 'x')\n"
        "        ctx.store._stale\n"
        "        self.store.__class__\n"
    )
    assert private_store_reaches(source) == [
        (3, "store._load"), (7, "self.store._refuse_if_closed"), (8, "ctx.store._stale")]


def test_no_module_reaches_into_the_store():
    reaches = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative == OWNER:
                continue
            for line, text in private_store_reaches(path.read_text(encoding="utf-8")):
                reaches.append(f"{relative}:{line}: {text}")
    assert reaches == []
